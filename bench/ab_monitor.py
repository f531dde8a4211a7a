"""``python -m bench.ab_monitor --rev REV [--customers N | --cdnow [--two-as-ofs]] [--reps 3]``: the monitor step of
git revision REV (which re-reads and re-parses the source) against this tree's (which reads the input summary that
prepare wrote), in one process, on one prepared state, interleaved (old, new, old, new, ...).

State (in a temporary folder, tuning off): prepare, train-frequency, train-monetary and project on the synthetic CSV
of ``bench.datasets.customer_log`` with the race's settings, or on the embedded CDNOW data with the ``make run``
config (``--cdnow``: one as_of, 1998-06-30; with ``--two-as-ofs`` first the same at 1998-05-31, so the second as_of
has a previous one and the first as_of's prepare tagged the later rows ``after_observation_end``). Every as_of is
monitored. Checks (exit 1 when one fails): the monitoring rows of both sides are equal except the amount PSI/KS,
which now use edges on the 1% grid (printed old vs new), and the per-day counts and the tracking plot's counts up
to each as_of are equal. Prints this tree's prepare phase that writes the summary: the cost moved into prepare.
"""
from __future__ import annotations

import argparse
import datetime as dt
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
from bench.race import pipeline_command

AMOUNT = "amount"


def old_monitor(rev: str) -> ModuleType:
    """``gda_clv/pipelines/monitor.py`` of ``rev`` with its own ``inputs`` and ``drift`` modules."""
    folder = Path(tempfile.mkdtemp(prefix="gda_clv-ab-"))
    monitor = module_at(rev, folder, "gda_clv/pipelines/monitor.py", "monitor_at_rev")
    monitor.__dict__["inputs"] = module_at(rev, folder, "gda_clv/monitoring/inputs.py", "inputs_at_rev")
    monitor.__dict__["drift"] = module_at(rev, folder, "gda_clv/monitoring/drift.py", "drift_at_rev")
    return monitor


def _settings(args: argparse.Namespace, state: Path) -> list[str]:
    """The ``--set`` values of the state's runs (the race's for the synthetic CSV)."""
    common = [f"runtime.state_dir={state}", "model.frequency.tuning.max_evals=0", "model.monetary.tuning.max_evals=0"]
    if args.cdnow:
        return common
    log = customer_log(args.customers, CACHE_DIR)
    command = pipeline_command(log.path, state, state / "unused.json")
    return [*(command[i + 1] for i, word in enumerate(command) if word == "--set"), *common]


def prepared_state(args: argparse.Namespace, spark: Any, state: Path) -> list[tuple[Any, dt.date]]:
    """Run the steps up to project; returns (JobContext, as_of) of each as_of to monitor."""
    from gda_clv.pipelines import prepare, project, train_frequency, train_monetary
    from gda_clv.utils.common import JobContext

    settings = _settings(args, state)
    ends = ["1998-05-31", None] if args.cdnow and args.two_as_ofs else [None]
    contexts = []
    for k, end in enumerate(ends):
        ctx = JobContext(env="local", spark=spark, overrides=(*settings, *(
            [f"data.observation_end={end}"] if end else [])))
        ctx.setup_mlflow()
        steps = (prepare, train_frequency, train_monetary, project) if k == 0 else (prepare, project)
        for step in steps:
            summary = step.run(ctx)
            if step is prepare:
                as_of = dt.date.fromisoformat(summary["as_of"])
                phase = summary["durations"].get("prepare: input summary")
                print(f"prepare as_of {summary['as_of']}: {summary['source_rows']:,} rows, input summary phase "
                      f"{phase:.2f} s of {sum(summary['durations'].values()):.2f} s", flush=True)
        contexts.append((ctx, as_of))
    return contexts


def _compare(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Print the amount rows old vs new; True when every other row is equal."""
    def split(summary: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], float]]:
        metrics = summary["monitoring"]["metrics"]
        amounts = {(m["metric"], m["reference"]): m["value"] for m in metrics if m["column"] == AMOUNT}
        return [m for m in metrics if m["column"] != AMOUNT], amounts

    (old_rows, old_amounts), (new_rows, new_amounts) = split(old), split(new)
    for key in sorted(old_amounts):
        print(f"    {key[0]}(amount) vs {key[1]}: {old_amounts[key]:.5f} -> {new_amounts.get(key, float('nan')):.5f}")
    same = old_rows == new_rows and set(old_amounts) == set(new_amounts)
    print(f"    {len(old_rows)} other rows equal: {same}")
    return same


def _same_counts(ctx: Any, old: ModuleType, as_of: dt.date) -> bool:
    """The per-day counts and the tracking counts up to ``as_of``: old (parsed source) vs new (input summary)."""
    from gda_clv.monitoring import tracking
    from gda_clv.pipelines import monitor

    freq = ctx.config.data.freq
    parsed = old._parsed_source(ctx)
    before = [d for d in old.inputs.daily_counts(parsed, freq) if d.date <= as_of]
    after = [d for d in monitor._days(ctx, monitor._input_summary(ctx, as_of), as_of) if d.date <= as_of]
    same_days = [tuple(vars(d).values()) for d in before] == [tuple(vars(d).values()) for d in after]
    same_tracking = tracking.period_counts(before, freq, as_of) == tracking.period_counts(after, freq, as_of)
    print(f"    {len(after)} days equal: {same_days}; tracking counts equal: {same_tracking}")
    return same_days and same_tracking


def main(argv: list[str] | None = None) -> int:
    """Prepare the state, run the interleaved A/B of the monitor step and print each rep, the load and the checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="the git revision to compare with this tree")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--cdnow", action="store_true", help="the embedded CDNOW data instead of the synthetic CSV")
    parser.add_argument("--two-as-ofs", action="store_true", help="with --cdnow: also an as_of 30 days earlier")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    from gda_clv.pipelines import monitor
    from gda_clv.utils.spark_session import build_local_session

    old = old_monitor(args.rev)
    with tempfile.TemporaryDirectory(prefix="gda_clv-ab-") as tmp:
        state = Path(tmp)
        spark = build_local_session(state)
        contexts = prepared_state(args, spark, state)
        print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
        results: dict[tuple[str, dt.date], dict[str, Any]] = {}
        for rep in range(1, args.reps + 1):
            for ctx, as_of in contexts:
                for name, module in ((args.rev, old), ("this tree", monitor)):
                    started = time.perf_counter()
                    results[(name, as_of)] = module.run(ctx, as_of)
                    print(f"rep {rep}  as_of {as_of}  {name:>12}  {time.perf_counter() - started:7.2f} s", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        ok = True
        for ctx, as_of in contexts:
            print(f"as_of {as_of}:")
            ok &= _compare(results[(args.rev, as_of)], results[("this tree", as_of)])
            ok &= _same_counts(ctx, old, as_of)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
