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
from gda_clv.utils.config_utils import add_config_arguments
from gda_clv.utils.logger_utils import get_logger

# step -> (module with ``run(ctx) -> dict``, help)
PIPELINE_STEPS: dict[str, tuple[str, str]] = {
    "prepare": ("gda_clv.pipelines.prepare", "validate transactions, quarantine bad rows, write RFM features"),
    "train-frequency": ("gda_clv.pipelines.train_frequency", "tune, fit and register the purchase-frequency model"),
    "train-monetary": ("gda_clv.pipelines.train_monetary", "tune, fit and register the Gamma-Gamma spend model"),
    "project": ("gda_clv.pipelines.project", "score every customer with the champion models; write CLV outputs"),
    "run": ("gda_clv.pipelines.run_all", "prepare -> train-frequency -> train-monetary -> project in one process"),
}
# command -> (module with ``add_arguments(parser)`` and ``run_from_args(args) -> dict``, help)
TOOL_COMMANDS: dict[str, tuple[str, str]] = {
    "job-gen": ("gda_clv.utils.job_gen", "render conf/templates.yml into conf/deployment.yml (dbx) and a bundle"),
    "schedule": ("gda_clv.utils.job_templates_scheduler_gen", "write Quartz cron schedules into conf/templates.yml"),
    "check-meta": ("gda_clv.utils.job_meta_checker", "check commit ids in deployment.yml and champion models"),
    "workflow": ("gda_clv.workflow.runner", "run a rendered workflow locally, a process per task, as Databricks does"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gda-clv",
        description="Customer Lifetime Value pipeline: BG/NBD + Gamma-Gamma on Spark, MLflow and Databricks. "
        "Without Databricks, --env local runs on local Spark with MLflow on sqlite under .gda_clv/.",
    )
    parser.add_argument("--version", action="version", version=f"gda_clv {__version__}")
    steps = parser.add_subparsers(dest="step", metavar="<step>", required=True)
    for name, (module, help_text) in PIPELINE_STEPS.items():
        sub = steps.add_parser(name, help=help_text, description=help_text)
        _add_common(sub)
        sub.set_defaults(handler=_pipeline_handler(module))
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


def _pipeline_handler(module: str) -> Callable[[argparse.Namespace], dict[str, Any]]:
    def handler(args: argparse.Namespace) -> dict[str, Any]:
        from gda_clv.utils.common import JobContext

        ctx = JobContext(env=args.env, conf_files=tuple(args.conf_file), overrides=tuple(args.overrides))
        return importlib.import_module(module).run(ctx)

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run one step; 0 on success, 1 when a check found problems, 2 on a user-fixable error."""
    args = build_parser().parse_args(argv)
    logger = get_logger("gda_clv.cli")
    started = time.perf_counter()
    try:
        summary = args.handler(args)
    except GdaClvError as exc:
        logger.error("%s failed: %s", args.step, exc)
        _write_summary(args, {"step": args.step, "status": "failed", "error": str(exc)})
        return 2
    summary = {"step": args.step, "status": summary.get("status", "succeeded"), **summary}
    summary.setdefault("duration_seconds", round(time.perf_counter() - started, 3))
    _write_summary(args, summary)
    return 1 if summary["status"] == "failed" else 0


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
run_main = _step_main("run")
