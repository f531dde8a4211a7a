"""``python -m bench.ab_prepare --rev REV [--customers N | --cdnow] [--reps 3]``: ``prepare`` with git revision REV's
validation, RFM and step code (gda_clv/data/transactions.py, gda_clv/data/rfm.py, gda_clv/pipelines/prepare.py)
against this tree's, in one process, on the same CSV, interleaved (old, new, old, new, ...).

The data and settings are the race's (``bench.datasets.customer_log``, ``bench.race.data_settings``), or with
``--cdnow`` the embedded CDNOW log with the default settings (what ``make run`` prepares); each side writes its own
schema. Each call prints its wall seconds, the Spark JVM's CPU seconds (what other processes on a
loaded machine take away shows in the wall time, not here) and its phases. The feature tables must be equal bit for
bit and the step summaries equal (exit 1 otherwise). The first pair includes each side's warm-up.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.ab_scoring import module_at
from bench.common import CACHE_DIR
from bench.datasets import customer_log
from bench.race import data_settings
from gda_clv.pipelines import prepare

#: summary keys that differ between any two runs
VOLATILE = ("run_id", "durations", "tables")


def modules_at(rev: str, folder: Path) -> ModuleType:
    """``prepare`` of ``rev``, importing ``rev``'s transactions and rfm modules (loaded next to it)."""
    module_at(rev, folder, "gda_clv/data/transactions.py", "transactions_at_rev")
    module_at(rev, folder, "gda_clv/data/rfm.py", "rfm_at_rev")
    return module_at(rev, folder, "gda_clv/pipelines/prepare.py", "prepare_at_rev", imports={
        "from gda_clv.data import rfm\n": "import rfm_at_rev as rfm\n",
        "from gda_clv.data.transactions import (": "from transactions_at_rev import (",
    })


def jvm_cpu_seconds(spark: Any) -> float:
    """User + system CPU seconds the session's JVM has used so far (Linux: from /proc)."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_prepare(spark: Any, module: ModuleType, settings: list[str], schema: str) -> dict[str, Any]:
    """``module.run`` on a fresh JobContext writing to ``schema``; its summary plus ``wall_s`` and ``jvm_cpu_s``."""
    from gda_clv.utils.common import JobContext

    overrides = (*settings, f"tables.schema={schema}", "runtime.log_level=WARNING")
    ctx = JobContext(env="local", overrides=overrides, spark=spark)
    cpu, started = jvm_cpu_seconds(spark), time.perf_counter()
    summary: dict[str, Any] = module.run(ctx)
    return {**summary, "wall_s": time.perf_counter() - started, "jvm_cpu_s": jvm_cpu_seconds(spark) - cpu}


def phases(summary: dict[str, Any]) -> str:
    """``read 0.12, validate 9.31, ...``: each phase's first word and seconds."""
    return ", ".join(f"{name.split(': ', 1)[-1].split(' ')[0]} {s:.2f}" for name, s in summary["durations"].items())


def differences(spark: Any, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two runs: summary keys, then feature rows (exact, both ways)."""
    skip = {*VOLATILE, "wall_s", "jvm_cpu_s"}
    found = [f"summary[{key!r}]: {old.get(key)!r} vs {new.get(key)!r}" for key in sorted({*old, *new} - skip)
             if old.get(key) != new.get(key)]
    a, b = (spark.table(s["tables"]["features"]) for s in (old, new))
    for name, left, right in (("old", a, b), ("new", b, a)):
        extra = left.exceptAll(right).count()
        if extra:
            found.append(f"{extra} feature rows only in the {name} table")
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved A/B; print each call, the load, and whether the outputs are identical."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="the git revision to compare with this tree")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--cdnow", action="store_true", help="the embedded CDNOW log instead of a synthetic CSV")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    from gda_clv.utils.spark_session import build_local_session

    with tempfile.TemporaryDirectory(prefix="gda_clv-ab-prepare-") as tmp:
        work = Path(tmp)
        old = modules_at(args.rev, work)
        spark = build_local_session(work / "state")
        spark.sparkContext.setLogLevel("ERROR")
        if args.cdnow:
            settings, data = [f"runtime.state_dir={work / 'state'}"], "the embedded CDNOW log"
        else:
            source = customer_log(args.customers, CACHE_DIR)
            settings = data_settings(source.path.resolve(), work / "state")
            data = f"{source.n_transactions:,} transactions of {args.customers:,} customers (CSV)"
        print(f"{data}; load average before: {os.getloadavg()[0]:.1f}", flush=True)
        last: dict[str, dict[str, Any]] = {}
        for rep in range(1, args.reps + 1):
            for name, module in ((args.rev, old), ("this tree", prepare)):
                schema = "ab_old" if module is old else "ab_new"
                last[schema] = out = run_prepare(spark, module, settings, schema)
                print(f"rep {rep}  {name:>12}  {out['wall_s']:6.2f} s  JVM CPU {out['jvm_cpu_s']:6.2f} s  "
                      f"({phases(out)})", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        found = differences(spark, last["ab_old"], last["ab_new"])
        print("outputs: identical (summaries, feature tables bit for bit)" if not found else
              "outputs DIFFER:\n  " + "\n  ".join(found))
        return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
