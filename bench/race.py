"""The end-to-end race: ``gda-clv run --env local`` (tuning off) against the pandas + lifetimes notebook
(bench/notebook.py), each as its own process, back to back, on the same synthetic CSV; then bench/spark_floor.py, the
least a Spark program does on that data (start, read, summary, write), as the floor of any Spark pipeline here.

``python -m bench.race [--customers 200000]`` (``make bench BENCH=race``) prints the wall ratio
(pipeline / notebook: <= 1.0 is the target), the per-phase table of the pipeline (from its summary JSON) and of
the notebook, and the parity checks: same customers, the same frequency/recency/T/monetary_value, fitted parameters
and CLV within tolerance. Writes the whole record to bench/results/race-latest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bench.common import CACHE_DIR, RESULTS_DIR, max_rel_diff, write_record
from bench.datasets import CALIBRATION_END, END, customer_log
from bench.e2e import run_measured
from bench.notebook import DISCOUNT, HORIZON_MONTHS

if TYPE_CHECKING:
    from gda_clv.pipelines.summaries import RunSummary

FEATURES = ("frequency", "recency", "T", "monetary_value")
#: parity tolerances: features are the same arithmetic; fits are two optimisers on one likelihood
FEATURE_RTOL, PARAM_RTOL, CLV_RTOL = 1e-9, 1e-3, 1e-3


def data_settings(source: Path, state: Path) -> list[str]:
    """The race's ``--set`` overrides for reading and preparing the CSV: days, the fixed calibration window."""
    return ["data.source.format=csv", f"data.source.path={source}", f"runtime.state_dir={state}",
            "data.freq=D", "data.freq_multiplier=1", f"data.calibration_end={CALIBRATION_END}",
            f"data.observation_end={END}"]


def pipeline_command(source: Path, state: Path, summary: Path) -> list[str]:
    """``gda-clv run`` on the CSV with the notebook's settings: days, lifetimes' month, no tuning."""
    sets = [*data_settings(source, state), "model.frequency.tuning.max_evals=0", "model.monetary.tuning.max_evals=0",
            f"projection.horizon_months={HORIZON_MONTHS}", f"projection.discount_rate={DISCOUNT}",
            "projection.month=lifetimes"]
    cmd = [str(Path(sys.executable).with_name("gda-clv")), "run", "--env", "local", "--summary-json", str(summary)]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def notebook_command(source: Path, out_dir: Path) -> list[str]:
    return [sys.executable, "-m", "bench.notebook", str(source), str(out_dir), "--observation-end", str(END)]


def floor_command(source: Path, out_dir: Path) -> list[str]:
    """bench/spark_floor.py: Spark's start, read, per-customer summary and write, nothing else."""
    return [sys.executable, "-m", "bench.spark_floor", str(source), str(out_dir), "--observation-end", str(END)]


def phase_table(summary: RunSummary) -> list[tuple[str, float]]:
    """(step or phase, seconds) in run order: each step's total, then its logged phases indented."""
    timings = summary["timings"]
    rows: list[tuple[str, float]] = []
    for step, seconds in timings["steps"].items():
        rows.append((step, seconds))
        rows += [(f"  {name.split(': ', 1)[-1]}", s) for name, s in timings["phases"].items()
                 if name.startswith(f"{step}: ")]
    return rows


def parity(summary: RunSummary, notebook_dir: Path) -> dict[str, Any]:
    """Compare the pipeline's predictions and fits with the notebook's; ``ok`` when all are within tolerance."""
    ours = pd.read_parquet(summary["project"]["parquet_path"]).set_index("customer_id").sort_index()
    ref = pd.read_parquet(notebook_dir / "clv.parquet").set_index("customer_id").sort_index()
    params = json.loads((notebook_dir / "params.json").read_text())
    same = bool(ours.index.equals(ref.index))
    ref = ref.reindex(ours.index)
    features = {c: max_rel_diff(ours[c], ref[c]) for c in FEATURES}
    fitted = {"frequency": summary["train_frequency"]["params"], "monetary": summary["train_monetary"]["params"]}
    fits = {kind: max(abs(fitted[kind][k] - v) / abs(v) for k, v in params[kind].items()) for kind in fitted}
    # relative CLV error over customers worth at least a cent (near-zero CLVs make relative error meaningless)
    worth = ref["clv"].to_numpy() >= 0.01
    clv = max_rel_diff(ours["clv"].to_numpy()[worth], ref["clv"].to_numpy()[worth])
    ok = (same and max(features.values()) <= FEATURE_RTOL and max(fits.values()) <= PARAM_RTOL and clv <= CLV_RTOL)
    return {"customers": len(ours), "same_customers": same, "max_rel_diff_features": features,
            "max_rel_diff_params": fits, "max_rel_diff_clv": clv,
            "clv_total": {"pipeline": float(ours["clv"].sum()), "notebook": float(ref["clv"].sum())},
            "tolerances": {"features": FEATURE_RTOL, "params": PARAM_RTOL, "clv": CLV_RTOL}, "ok": bool(ok)}


def race(n_customers: int, work_dir: Path, cache_dir: Path = CACHE_DIR) -> dict[str, Any]:
    """Generate (or reuse) the CSV, run the pipeline then the notebook, compare; the record of the race."""
    data = customer_log(n_customers, cache_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    summary_path, notebook_dir = work_dir / "summary.json", work_dir / "notebook"
    load_before = [round(v, 2) for v in os.getloadavg()]
    pipeline = run_measured(pipeline_command(data.path.resolve(), work_dir / "state", summary_path),
                            work_dir / "pipeline.log")
    if pipeline["returncode"] != 0:
        raise SystemExit(f"gda-clv run failed (exit {pipeline['returncode']}); see {work_dir / 'pipeline.log'}")
    notebook = run_measured(notebook_command(data.path.resolve(), notebook_dir), work_dir / "notebook.log")
    if notebook["returncode"] != 0:
        raise SystemExit(f"the notebook failed (exit {notebook['returncode']}); see {work_dir / 'notebook.log'}")
    floor = run_measured(floor_command(data.path.resolve(), work_dir / "floor"), work_dir / "floor.log")
    if floor["returncode"] != 0:
        raise SystemExit(f"the Spark floor failed (exit {floor['returncode']}); see {work_dir / 'floor.log'}")
    summary: RunSummary = json.loads(summary_path.read_text())
    return {
        "customers": n_customers, "transactions": data.n_transactions, "source": str(data.path),
        "load_avg_before": load_before, "load_avg_after": [round(v, 2) for v in os.getloadavg()],
        "cores": os.cpu_count(),
        "pipeline": {**pipeline, "phases": phase_table(summary)},
        "notebook": {**notebook, "phases": json.loads((notebook_dir / "params.json").read_text())["phases"]},
        "spark_floor": {**floor, "phases": json.loads((work_dir / "floor" / "phases.json").read_text())},
        "ratio": pipeline["wall_s"] / notebook["wall_s"],
        "floor_ratio": floor["wall_s"] / notebook["wall_s"],
        "parity": parity(summary, notebook_dir),
    }


def report(record: dict[str, Any]) -> str:
    """The printed result: ratio, load, both phase tables, parity."""
    p, n, f, check = record["pipeline"], record["notebook"], record["spark_floor"], record["parity"]
    lines = [
        f"race on {record['customers']:,} customers / {record['transactions']:,} transactions (CSV), "
        f"{record['cores']} cores, load {record['load_avg_before']} -> {record['load_avg_after']}",
        f"gda-clv run {p['wall_s']:.1f}s (peak {p['peak_rss_gb']:.2f} GB)  vs  notebook {n['wall_s']:.1f}s "
        f"(peak {n['peak_rss_gb']:.2f} GB)  ratio {record['ratio']:.2f} (target <= 1.0)",
        f"Spark floor (bench/spark_floor.py: start, read, summary, write; nothing else) {f['wall_s']:.1f}s, "
        f"ratio {record['floor_ratio']:.2f} to the notebook: "
        + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in f["phases"].items()),
        "", f"{'gda-clv run phase':<64} {'s':>7}",
        *(f"{name[:64]:<64} {seconds:>7.2f}" for name, seconds in p["phases"]),
        "", f"{'notebook phase':<64} {'s':>7}",
        *(f"{name:<64} {seconds:>7.2f}" for name, seconds in n["phases"].items()),
        "",
        f"parity: {'ok' if check['ok'] else 'FAILED'}; same customers {check['same_customers']}, "
        f"features {max(check['max_rel_diff_features'].values()):.1e}, params "
        + ", ".join(f"{k} {v:.1e}" for k, v in check["max_rel_diff_params"].items())
        + f", CLV {check['max_rel_diff_clv']:.1e} (max relative differences)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.race", description=__doc__)
    parser.add_argument("--customers", type=int, default=200_000, help="1000000 for the issue's race")
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="gda_clv_race_"))
    record = race(args.customers, work_dir)
    print(report(record))
    write_record(record, args.results_dir, "race-latest.json")
    return 0 if record["parity"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

