"""Scale-out: ``gda-clv run --env local`` on ``local[*]`` and on ``local-cluster`` with 1 and 2 executor processes
(1 core each), each its own process, back to back, on the same synthetic Parquet log (bench/datasets.py).

``python -m bench.scale [--transactions 1000000]`` (``make bench-scale``) prints the per-step and per-phase table of
the three runs, how prepare and scoring scale from 1 to 2 executors (seconds with 1 / seconds with 2; 2.0 is
linear), and whether the outputs agree: the same customers in the feature table and the predictions, integer
columns equal, amounts within 1e-9 relative (their sums meet in shuffle order, which differs between processes in the
last bit). Exit 1 when they do not. The record goes to bench/results/scale-latest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import CACHE_DIR, RESULTS_DIR, max_rel_diff, write_record
from bench.datasets import transactions
from bench.e2e import run_command, run_measured, step_times

#: (label, runtime.spark_master); the machine this was written for has 2 cores, so 2 x 1 core is the widest
MASTERS = (("local[*]", "local[*]"), ("1 executor", "local-cluster[1,1,{mb}]"),
           ("2 executors", "local-cluster[2,1,{mb}]"))
SCALED = (("prepare", "prepare", None), ("scoring", "project", "project: score customers"))
FLOAT_RTOL = 1e-9
SETTINGS = ("model.frequency.tuning.max_evals=0", "model.monetary.tuning.max_evals=0")  # tuning runs on the driver


def run_one(label: str, master: str, source: Path, work_dir: Path) -> dict[str, Any]:
    """One ``gda-clv run`` on ``master`` in its own process and state folder: wall, memory, steps, output paths."""
    base = (work_dir / label.replace(" ", "_").replace("[*]", "")).resolve()
    base.mkdir(parents=True, exist_ok=True)
    summary_path = base / "summary.json"
    summary_path.unlink(missing_ok=True)
    cmd = run_command(source, base / "state", summary_path, (*SETTINGS, f"runtime.spark_master={master}"))
    measured = run_measured(cmd, base / "run.log")
    if measured["returncode"] != 0 or not summary_path.exists():
        raise SystemExit(f"gda-clv run on {master} failed (exit {measured['returncode']}); see {base / 'run.log'}")
    summary = json.loads(summary_path.read_text())
    executors = sorted((base / "state" / "spark_home" / "work").glob("app-*/*"))
    schema, table = summary["outputs"]["tables"]["features"].split(".")[-2:]
    return {"label": label, "master": master, **measured, "steps": _same_phase_names(step_times(summary), base),
            "executor_processes": len(executors),
            "features_path": str(Path(summary["outputs"]["warehouse"]) / f"{schema}.db" / table),
            "predictions_path": summary["project"]["parquet_path"], "log": str(base / "run.log")}


def _same_phase_names(steps: dict[str, Any], base: Path) -> dict[str, Any]:
    """Phase names with the run's own folder (``write files under <folder>``) written as ``<run>``, so that the
    phases of different runs line up."""
    return {step: {**entry, "phases": {name.replace(str(base), "<run>"): s for name, s in entry["phases"].items()}}
            for step, entry in steps.items()}


def compare(actual: pd.DataFrame, expected: pd.DataFrame) -> dict[str, Any]:
    """Same customers and columns; exact for non-float columns, largest relative difference of the float ones."""
    actual, expected = (f.sort_values("customer_id", kind="stable").reset_index(drop=True) for f in (actual, expected))
    out: dict[str, Any] = {"rows": len(actual), "same_customers": actual["customer_id"].equals(expected["customer_id"])}
    if not out["same_customers"] or sorted(actual.columns) != sorted(expected.columns):
        return {**out, "ok": False}
    floats = [c for c in expected.columns if expected[c].dtype.kind == "f"]
    others = [c for c in expected.columns if c not in floats and c != "prediction_run"]  # the run's own folder
    out["unequal_columns"] = [c for c in others if not actual[c].astype(str).equals(expected[c].astype(str))]
    out["max_rel_diff"] = max((max_rel_diff(np.nan_to_num(actual[c]), np.nan_to_num(expected[c])) for c in floats),
                              default=0.0)
    out["ok"] = not out["unequal_columns"] and out["max_rel_diff"] <= FLOAT_RTOL
    return out


def outputs_agree(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each local-cluster run's feature table and prediction file against the local[*] run's."""
    reference = runs[0]
    checks: dict[str, Any] = {}
    for run in runs[1:]:
        checks[run["label"]] = {kind: compare(pd.read_parquet(run[key]), pd.read_parquet(reference[key]))
                                for kind, key in (("features", "features_path"), ("predictions", "predictions_path"))}
    return {"vs": reference["label"], "checks": checks,
            "ok": all(c["ok"] for per_run in checks.values() for c in per_run.values())}


def _seconds(run: dict[str, Any], step: str, phase: str | None) -> float:
    entry = run["steps"][step]
    return float(entry["phases"][phase] if phase else entry["total_s"])


def scaling(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds with 1 executor / seconds with 2, for prepare and for scoring (2.0 = linear)."""
    one, two = (next(r for r in runs if r["label"] == label) for label in ("1 executor", "2 executors"))
    return {name: _seconds(one, step, phase) / _seconds(two, step, phase) for name, step, phase in SCALED}


def report(record: dict[str, Any]) -> str:
    """The printed result: per-step/phase seconds of each run, the scaling ratios, the output checks."""
    runs = record["runs"]
    names = list(dict.fromkeys(name for run in runs for step in run["steps"].values()
                               for name in [*step["phases"]]))
    header = f"{'seconds':<58}" + "".join(f"{r['label']:>13}" for r in runs)
    lines = [f"scale-out on {record['transactions']:,} transactions / {record['customers']:,} customers (Parquet), "
             f"{record['cores']} cores, load {record['load_avg_before']} -> {record['load_avg_after']}", "", header,
             f"{'wall':<58}" + "".join(f"{r['wall_s']:>13.1f}" for r in runs),
             f"{'peak memory of the process tree (GB)':<58}" + "".join(f"{r['peak_rss_gb']:>13.2f}" for r in runs)]
    for step in runs[0]["steps"]:
        lines.append(f"{step:<58}" + "".join(f"{r['steps'][step]['total_s']:>13.1f}" for r in runs))
        for name in (n for n in names if n in runs[0]["steps"][step]["phases"]):
            cells = "".join(f"{r['steps'][step]['phases'].get(name, float('nan')):>13.1f}" for r in runs)
            lines.append(f"  {name.split(': ', 1)[-1][:56]:<56}" + cells)
    ratios = ", ".join(f"{k} {v:.2f}x" for k, v in record["scaling_1_to_2_executors"].items())
    check = record["outputs"]
    lines += ["", f"1 -> 2 executors (seconds with 1 / with 2; 2.00 is linear): {ratios}",
              f"outputs vs {check['vs']}: {'identical' if check['ok'] else 'DIFFERENT'}; " + "; ".join(
                  f"{label} {kind} {c['rows']:,} rows, floats max rel {c.get('max_rel_diff', float('nan')):.1e}"
                  for label, per in check["checks"].items() for kind, c in per.items())]
    return "\n".join(lines)


def scale(n_transactions: int, work_dir: Path, executor_mb: int, cache_dir: Path = CACHE_DIR) -> dict[str, Any]:
    """Run the three masters back to back on the same data; the record with the scaling and the output checks."""
    data = transactions(n_transactions, cache_dir)
    load_before = [round(v, 2) for v in os.getloadavg()]
    runs = [run_one(label, master.format(mb=executor_mb), data.path.resolve(), work_dir) for label, master in MASTERS]
    return {"transactions": data.n_transactions, "customers": data.n_customers, "source": str(data.path),
            "cores": os.cpu_count(), "executor_mb": executor_mb, "load_avg_before": load_before,
            "load_avg_after": [round(v, 2) for v in os.getloadavg()], "runs": runs,
            "scaling_1_to_2_executors": scaling(runs), "outputs": outputs_agree(runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--executor-mb", type=int, default=2048, help="heap of each executor process")
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="gda_clv_scale_"))
    record = scale(args.transactions, work_dir, args.executor_mb)
    print(report(record))
    write_record(record, args.results_dir, "scale-latest.json")
    return 0 if record["outputs"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
