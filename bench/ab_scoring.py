"""``python -m bench.ab_scoring --rev REV [--customers N] [--reps 3]``: the Spark scoring of git revision REV
against this tree's, in one process, on the same data, interleaved (old, new, old, new, ...).

For a loaded machine, where end-to-end runs vary by more than a change buys: both sides see the same load, JVM and
caches. Each call reads the same Parquet features (``bench.datasets.customers``), scores them with the same fitted
BG/NBD and Gamma-Gamma models and writes Parquet; the outputs must agree (exit 1 otherwise). The first pair
includes each side's warm-up (the old scoring's first Python worker).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from bench.common import CACHE_DIR, max_rel_diff
from bench.datasets import customers
from bench.score import fitted_models
from gda_clv.data import scoring
from gda_clv.data.scoring import ModelRef, ScoringSpec

COMPARED = ["p_alive", "expected_purchases_30d", "expected_purchases_365d", "expected_avg_spend", "clv"]
REPO = Path(__file__).resolve().parents[1]


def module_at(rev: str, folder: Path, path: str = "gda_clv/data/scoring.py", name: str = "scoring_at_rev",
              imports: dict[str, str] | None = None) -> ModuleType:
    """The file ``path`` of ``rev`` as the module ``name``, importable by Python workers too; ``imports`` maps an
    import line of that file to the line that replaces it (to import other modules of ``rev`` loaded before)."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{path}"], check=True,
                            capture_output=True, text=True).stdout
    for line, replacement in (imports or {}).items():
        if line not in source:
            raise SystemExit(f"{rev}:{path} has no line {line!r}")
        source = source.replace(line, replacement)
    (folder / f"{name}.py").write_text(source)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def score(spark: Any, module: ModuleType, src: Path, dst: Path, models: tuple[Any, Any]) -> float:
    """Seconds to read ``src``, score it with ``module.score_customers`` and write ``dst``."""
    started = time.perf_counter()
    spec = ScoringSpec(horizon_months=12, discount_rate=0.01, freq="D", freq_multiplier=1)
    out = module.score_customers(spark.read.parquet(str(src)), *models, spec, ModelRef("f", "1"), ModelRef("m", "1"))
    getattr(out, "frame", out).write.mode("overwrite").parquet(str(dst))  # older revisions return the frame
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved A/B and print each rep, the load and the outputs' largest relative difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="the git revision to compare with this tree")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    from gda_clv.utils.spark_session import build_local_session

    with tempfile.TemporaryDirectory(prefix="gda_clv-ab-") as tmp:
        work = Path(tmp)
        old = module_at(args.rev, work)  # before the session starts: its Python workers inherit PYTHONPATH
        spark = build_local_session(work / "state")
        df = customers(args.customers, CACHE_DIR)
        models = fitted_models(df)
        src = work / "features.parquet"
        df.assign(customer_id=[f"C{k}" for k in range(len(df))], as_of=pd.Timestamp("2023-12-31").date()).to_parquet(
            src, index=False)
        print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
        for rep in range(1, args.reps + 1):
            for name, module in ((args.rev, old), ("this tree", scoring)):
                seconds = score(spark, module, src, work / name.replace(" ", "_"), models)
                print(f"rep {rep}  {name:>12}  {seconds:7.2f} s", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        a, b = (pd.read_parquet(work / n.replace(" ", "_")).set_index("customer_id").sort_index()
                for n in (args.rev, "this tree"))
        diff = max_rel_diff(b[COMPARED].to_numpy(), a[COMPARED].to_numpy())
        print(f"outputs: max relative difference {diff:.1e}")
        return 0 if diff < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
