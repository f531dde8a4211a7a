"""``python -m bench [--sizes small|full] [--only prep,fit,score,e2e]``: run, print the table, write JSON."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE_DIR, RESULTS_DIR, Row, format_table, machine, rows_payload, write_results

BENCHES = ("prep", "fit", "score", "e2e")
PRESETS: dict[str, dict[str, list[int]]] = {
    "small": {"prep": [20_000, 50_000], "fit": [5_000, 20_000], "score": [5_000, 20_000], "e2e": [20_000]},
    "full": {"prep": [1_000_000, 3_000_000, 10_000_000], "fit": [100_000, 1_000_000, 10_000_000],
             "score": [100_000, 1_000_000], "e2e": [1_000_000, 10_000_000]},
}


def run_benchmarks(plan: dict[str, list[int]], work_dir: Path, cache_dir: Path = CACHE_DIR, spark: Any = None,
                   lifetimes_fit_max: int = 10_000_000) -> list[Row]:
    """Run the benchmarks named in ``plan`` (bench -> sizes); Spark ones use ``spark`` or a local session."""
    rows: list[Row] = []
    if (plan.get("prep") or plan.get("score")) and spark is None:
        from gda_clv.utils.spark_session import build_local_session

        spark = build_local_session(work_dir / "spark_state", master="local[*]", shuffle_partitions=8,
                                    app_name="gda_clv_bench")
    if plan.get("prep"):
        from bench.prep import bench_prep

        rows += _announce(bench_prep(spark, plan["prep"], work_dir, cache_dir))
    if plan.get("fit"):
        from bench.fit import bench_fit

        rows += _announce(bench_fit(plan["fit"], cache_dir, lifetimes_max=lifetimes_fit_max))
    if plan.get("score"):
        from bench.score import bench_score

        rows += _announce(bench_score(spark, plan["score"], work_dir, cache_dir))
    if plan.get("e2e"):
        from bench.e2e import bench_e2e

        rows += _announce(bench_e2e(plan["e2e"], work_dir, cache_dir))
    return rows


def _announce(rows: list[Row]) -> list[Row]:
    print(format_table(rows), "\n", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", choices=sorted(PRESETS), default="full")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma list of {', '.join(BENCHES)}")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="generated data, reused across runs")
    parser.add_argument("--work-dir", type=Path, default=None, help="outputs of each run (default: a temp folder)")
    parser.add_argument("--lifetimes-fit-max", type=int, default=10_000_000,
                        help="largest customer count lifetimes' BetaGeoFitter is run on")
    args = parser.parse_args(argv)
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = sorted(set(only) - set(BENCHES))
    if unknown:
        parser.error(f"--only: unknown benchmarks {unknown}; choose from {', '.join(BENCHES)}")
    plan = {b: PRESETS[args.sizes][b] for b in only}
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="gda_clv_bench_"))
    work_dir.mkdir(parents=True, exist_ok=True)
    before = machine()
    start = time.time()
    rows = run_benchmarks(plan, work_dir, args.cache_dir, lifetimes_fit_max=args.lifetimes_fit_max)
    payload = {
        "sizes": args.sizes, "plan": plan, "started_unix": start, "wall_s": time.time() - start,
        "machine": before, "load_avg_at_end": [round(v, 2) for v in os.getloadavg()],
        "work_dir": str(work_dir), "rows": rows_payload(rows),
    }
    print(format_table(rows))
    print(f"\nwrote {write_results(payload, args.results_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
