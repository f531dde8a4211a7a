"""``gda-clv``: one entry point for every job step, locally, in a notebook and as a Databricks wheel task.

    gda-clv <step> --env ENV [--conf-file F] [--set key=value ...] [--summary-json PATH]

The thin job files under data_engineering_pipelines/ and model_pipelines/ and the wheel's ``clv_*`` entry points all
end up in :func:`main`, so there is one code path.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gda_clv import __version__
from gda_clv.errors import GdaClvError
from gda_clv.pipelines.steps import COMMANDS, Step
from gda_clv.utils import failures
from gda_clv.utils.config_utils import add_config_arguments, load_config, resolve_state_dir
from gda_clv.utils.logger_utils import get_logger

# the pipeline commands (gda_clv.pipelines.steps.COMMANDS) by name
PIPELINE_STEPS: dict[str, Step] = COMMANDS
# command -> (module with ``add_arguments(parser)`` and ``run_from_args(args) -> dict``, help)
TOOL_COMMANDS: dict[str, tuple[str, str]] = {
    "job-gen": ("gda_clv.utils.job_gen", "render conf/templates.yml into conf/deployment.yml (dbx) and a bundle"),
    "schedule": ("gda_clv.utils.job_templates_scheduler_gen", "write Quartz cron schedules into conf/templates.yml"),
    "check-meta": ("gda_clv.utils.job_meta_checker", "check commit ids in deployment.yml and champion models"),
    "workspace-setup": ("gda_clv.utils.api.workspace_setup",
                        "create an environment's workspace folders and experiment; apply its permissions"),
    "monitoring-setup": ("gda_clv.utils.api.quality_monitor",
                         "create or update the Lakehouse Monitoring monitor of an environment's predictions table"),
    "evidently-report": ("gda_clv.utils.evidently_report",
                         "Evidently drift report of the latest scoring run on a sample (extra gda_clv[evidently])"),
    "workflow": ("gda_clv.workflow.runner", "run a rendered workflow locally, a process per task, as Databricks does"),
}

OWN_DATA_HELP = """\
your own data (a CSV with one row per purchase):
  gda-clv run --env local \\
      --set data.source.path=/data/orders.csv --set data.source.format=csv \\
      --set data.source.columns.customer_id=client --set data.source.columns.transaction_date=order_day \\
      --set data.source.columns.amount=total --set data.source.date_format=dd/MM/yyyy \\
      --set 'data.source.options={sep: ";"}'
  Without dates set, the observation end is the last clean date and the calibration end is data.holdout_days
  (273) before it. The same keys go in a YAML file given with --conf-file.

config keys (defaults in conf/base.yml):
  data.source.{path,format,columns.*,date_format,options}   where and how to read the transactions
  data.{observation_end,calibration_end,holdout_days,freq,freq_multiplier,keep_zero_amounts,quarantine_max_share}
  data.validation.{earliest_date,max_amount}   plausible values (others are quarantined)
  data.outliers.{rule,quantile}   tables.{catalog,schema,features,quarantine,targets}
  model.{frequency,monetary}.*    projection.{horizon_months,discount_rate,horizons_days,tier_quantiles}
  output.{path,format,write_csv}  runtime.{backend,state_dir,spark_master,shuffle_partitions,log_level}
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``gda-clv`` argument parser: one subcommand per pipeline step and tool."""
    parser = argparse.ArgumentParser(
        prog="gda-clv",
        description="Customer Lifetime Value pipeline: BG/NBD + Gamma-Gamma on Spark, MLflow and Databricks. "
        "Without Databricks, --env local runs on local Spark with MLflow on sqlite under .gda_clv/.",
    )
    parser.add_argument("--version", action="version", version=f"gda_clv {__version__}")
    steps = parser.add_subparsers(dest="step", metavar="<step>", required=True)
    for name, step in PIPELINE_STEPS.items():
        sub = steps.add_parser(name, help=step.help, description=step.help, epilog=OWN_DATA_HELP,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common(sub)
        _add_handoff(sub, takes_as_of=step.takes_as_of)
        sub.set_defaults(handler=_pipeline_handler(step))
    for name, (module, help_text) in TOOL_COMMANDS.items():
        sub = steps.add_parser(name, help=help_text, description=help_text)
        _add_common(sub)
        tool = importlib.import_module(module)
        tool.add_arguments(sub)
        sub.set_defaults(handler=tool.run_from_args)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--summary-json", metavar="PATH", help="write a machine-readable summary of the step here")


def _add_handoff(parser: argparse.ArgumentParser, takes_as_of: bool) -> None:
    """What a job task is handed by the tasks before it (on Databricks: dynamic value references)."""
    parser.add_argument(
        "--job-run-id", metavar="ID",
        help="the job run this step belongs to (deployed: {{job.run_id}}); tags its MLflow runs and model versions "
        "so later tasks of the same job run find them (default: this process's own run id)",
    )
    if takes_as_of:
        parser.add_argument(
            "--as-of", metavar="DATE|latest",
            help="the as_of whose features to use (deployed: {{tasks.prepare.values.as_of}}); 'latest' = the newest "
            "in the feature table; default: data.observation_end, else an error asking for --as-of",
        )


def _pipeline_handler(step: Step) -> Callable[[argparse.Namespace], dict[str, Any]]:
    def handler(args: argparse.Namespace) -> dict[str, Any]:
        from gda_clv.utils.common import JobContext

        # MLflow's process-wide settings, set once here at the edge (while Spark starts)
        ctx = JobContext(env=args.env, conf_files=tuple(args.conf_file), overrides=tuple(args.overrides),
                         job_run_id=args.job_run_id, with_mlflow=step.uses_mlflow)
        handed_over = {"as_of": args.as_of} if "as_of" in args else {}
        return step.run(ctx, **handed_over)

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run one step; 0 on success, 1 when a check found problems or on an internal error, 2 on an error the user
    can fix (config, data, and failures below Python such as a locked, full or read-only state dir).

    Every failure ends as one ERROR line; the full detail of an unexpected one (Python traceback, Java stack) goes
    to a log file named in that line, never to the terminal.
    """
    args = build_parser().parse_args(argv)
    logger = get_logger("gda_clv.cli")
    started = time.perf_counter()
    try:
        summary = args.handler(args)
    except GdaClvError as exc:
        logger.error("%s failed: %s", args.step, exc)
        _write_summary(args, {"step": args.step, "status": "failed", "error": str(exc)})
        return 2
    except Exception as exc:  # noqa: BLE001 - the edge of the program: one line, detail in a file
        state_dir = _state_dir(args)
        message = failures.describe(exc, state_dir) if failures.is_below_python(exc) else (
            f"internal error {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
        log_path = failures.write_detail(exc, state_dir, args.step)
        logger.error("%s failed: %s (full detail in %s)", args.step, message, log_path)
        _write_summary(args, {"step": args.step, "status": "failed", "error": message, "log_path": str(log_path)})
        return 2 if failures.is_below_python(exc) else 1
    summary = {"step": args.step, "status": summary.get("status", "succeeded"), **summary}
    summary.setdefault("duration_seconds", round(time.perf_counter() - started, 3))
    _write_summary(args, summary)
    return 1 if summary["status"] in ("failed", "timed_out") else 0


def _state_dir(args: argparse.Namespace) -> Path:
    """The state dir the failed command used (``.gda_clv`` when its config cannot even be loaded)."""
    try:
        config = load_config(args.env, None, tuple(args.conf_file), tuple(args.overrides))
        return resolve_state_dir(config.runtime.state_dir)
    except Exception:  # noqa: BLE001 - only used to place a log file
        return resolve_state_dir(".gda_clv")


def _write_summary(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    if args.summary_json:
        path = Path(args.summary_json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, default=str, sort_keys=False) + "\n")


def _step_main(step: str) -> Callable[[], None]:
    def entry() -> None:
        sys.exit(main([step, *sys.argv[1:]]))

    entry.__doc__ = f"Wheel entry point: ``gda-clv {step}`` with the task's parameters."
    return entry


prepare_main = _step_main("prepare")
train_frequency_main = _step_main("train-frequency")
train_monetary_main = _step_main("train-monetary")
project_main = _step_main("project")
monitor_main = _step_main("monitor")
run_main = _step_main("run")
