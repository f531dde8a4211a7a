"""``gda-clv run``: prepare -> train-frequency -> train-monetary -> project -> monitor in one process and one Spark
session.

Prints a progress line per step and, at the end, a short human report: customers scored, holdout accuracy,
the top customers by CLV, where the tables, files, MLflow runs and plots are, and how to open the MLflow UI.
The summary nests the step summaries (``prepare``, ``train_frequency``, ``train_monetary``, ``project``, ``monitor``)
plus ``outputs`` (table names, ``predictions_path``) and ``timings``.
"""
from __future__ import annotations

import importlib
import shlex
import sys
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TextIO, cast

from gda_clv.pipelines.steps import STEPS
from gda_clv.pipelines.summaries import (
    Outputs,
    ProjectSummary,
    RunSummary,
    TrainFrequencySummary,
    TrainMonetarySummary,
)
from gda_clv.utils.background import in_background

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext


def _step_timings(ctx: JobContext, steps: list[str]) -> dict[str, float]:
    """Wall seconds of each finished step, from the context's one record of durations."""
    return {step: ctx.timings[step] for step in steps}


def _import_in_background(modules: list[str]) -> Future[None]:
    """Import ``modules`` in a thread: the later steps' imports (MLflow's model flavours, the models, hyperopt,
    matplotlib: seconds) overlap with prepare, which waits on Spark's JVM most of the time."""

    def import_all() -> None:
        for module in modules:
            importlib.import_module(module)

    return in_background(import_all, "imports")


def run(ctx: JobContext, out: TextIO | None = None) -> dict[str, Any]:
    """Run the steps in order on prepare's as_of; stop at the first failure. Returns the nested summary."""
    out = out or sys.stdout
    summary: dict[str, Any] = {"run_id": ctx.run_id, "env": ctx.env}
    done: list[str] = []
    importlib.import_module(STEPS[0].module)  # before the thread starts, so no module is imported twice at once
    later_imports = _import_in_background([step.module for step in STEPS[1:]])
    for number, step in enumerate(STEPS, start=1):
        label = f"[{number}/{len(STEPS)}] {step.name}"
        if number == 2:
            later_imports.result()  # an import error is raised here, by the step that needs it
        print(f"==> {label} ...", file=out, flush=True)
        try:
            # prepare decides the as_of; every later step is handed it explicitly, as the deployed job does
            # with --as-of {{tasks.prepare.values.as_of}}
            handed_over = {"as_of": summary["prepare"]["as_of"]} if step.takes_as_of else {}
            with ctx.timed(step.name):
                step_summary = step.run(ctx, **handed_over)
        except Exception:
            print(f"==> {label} FAILED after {ctx.timings[step.name]:.1f}s", file=out, flush=True)
            raise
        done.append(step.name)
        summary[step.key] = step_summary
        status = step_summary.get("status", "succeeded")
        print(f"==> {label} {status} in {ctx.timings[step.name]:.1f}s", file=out, flush=True)
        if status == "failed":
            return {**summary, "status": "failed", "failed_step": step.name, "timings": _step_timings(ctx, done)}
    steps = _step_timings(ctx, done)
    phases = {name: seconds for name, seconds in ctx.timings.items() if name not in steps}
    summary["timings"] = {"steps": steps, "total": round(sum(steps.values()), 3), "phases": phases}
    finished = cast(RunSummary, summary)  # every step of STEPS filled in its key above; the rest follows
    found = outputs(ctx, finished["project"])
    found["plots"] = plot_locations(finished)
    summary["outputs"] = found
    summary["status"] = "succeeded"
    print(report(finished, mlflow_ui_command(ctx)), file=out, flush=True)
    return summary


def outputs(ctx: JobContext, project: ProjectSummary) -> Outputs:
    """Where this run's results are: table names, prediction files, MLflow stores."""
    return {
        "tables": {
            "features": ctx.feature_table.full_name,
            # Written only when a run quarantined rows: listed once it exists.
            "quarantine": ctx.quarantine_table.full_name if ctx.tables.exists(ctx.quarantine_table.full_name) else None,
            "targets": ctx.targets_table.full_name,
        },
        "predictions_path": project["predictions_path"],
        "lineage_path": project["lineage_path"],
        "warehouse": None if ctx.is_databricks else str(ctx.state_dir / "spark-warehouse"),
        "mlflow": {
            "tracking_uri": ctx.mlflow_tracking_uri,
            "registry_uri": ctx.mlflow_registry_uri,
            "experiment": ctx.mlflow_experiment,
        },
    }


def plot_locations(summary: RunSummary) -> dict[str, str]:
    """Artifact folder of each training run's plots (``<artifact uri>/plots``), for the runs that logged plots."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    found = {}
    for key, step in (("train_frequency", summary["train_frequency"]), ("train_monetary", summary["train_monetary"])):
        run_id = step.get("mlflow_run_id")
        if run_id and client.list_artifacts(run_id, "plots"):
            found[key] = f"{client.get_run(run_id).info.artifact_uri}/plots"
    return found


def mlflow_ui_command(ctx: JobContext) -> str | None:
    """The command that opens the MLflow UI on a local store (None for Databricks-hosted MLflow)."""
    uri = ctx.mlflow_tracking_uri
    if uri.startswith("databricks"):
        return None
    # The interpreter that runs gda_clv has mlflow, whether or not its virtual environment is active.
    return f"{shlex.quote(sys.executable)} -m mlflow ui --backend-store-uri {shlex.quote(uri)}"


def _fmt(value: object, digits: int = 2) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else str(value)


def _accuracy_lines(frequency: TrainFrequencySummary, monetary: TrainMonetarySummary) -> list[str]:
    lines = []
    # The calibration-period fit's check (train-frequency's "holdout"): the scoring refit has seen the holdout.
    holdout = frequency.get("holdout", {})
    if "holdout_actual_purchases" in holdout:
        actual, predicted = holdout["holdout_actual_purchases"], holdout["holdout_predicted_purchases"]
        lines.append(
            f"  repeat transactions: actual {_fmt(actual, 0)}  predicted {_fmt(predicted, 1)}"
            f"  ({_pct(predicted, actual)})"
        )
    revenue = monetary.get("holdout", {})
    if "holdout_revenue_actual_total" in revenue:
        actual, predicted = revenue["holdout_revenue_actual_total"], revenue["holdout_revenue_predicted_total"]
        lines.append(
            f"  revenue:             actual {_fmt(actual)}  predicted {_fmt(predicted)}  ({_pct(predicted, actual)})"
        )
    return lines or ["  (no holdout metrics in the training summaries)"]


def _pct(predicted: float, actual: float) -> str:
    return f"{100.0 * (predicted - actual) / actual:+.1f}%" if actual else "n/a"


def report(summary: RunSummary, ui_command: str | None) -> str:
    """The human report printed at the end of ``gda-clv run``."""
    project, frequency, monetary = summary["project"], summary["train_frequency"], summary["train_monetary"]
    outs = summary["outputs"]
    lines = [
        "",
        f"gda_clv run {summary['run_id']} ({summary['env']}) finished in {summary['timings']['total']:.1f}s",
        f"Customers scored: {project['customers_scored']:,} at as_of {project['as_of']} "
        f"({project['distinct_input_tuples']:,} distinct inputs); total {_horizon(project)} CLV "
        f"{_fmt(project['clv_total'])}, mean {_fmt(project['clv_mean'])}",
        "Holdout accuracy (calibration period model vs holdout period):",
        *_accuracy_lines(frequency, monetary),
        "Models used: " + ", ".join(
            f"{m['name']} v{m['version']}" for m in (project["models"]["frequency"], project["models"]["monetary"])
        ),
        *_gate_lines(frequency, monetary),
        "Top 10 customers by CLV:",
        f"  {'customer_id':>12} {'clv':>12} {'p_alive':>8} {'frequency':>9} {'exp. spend':>10}  tier",
    ]
    for row in project["top_customers"]:
        lines.append(
            f"  {row['customer_id']:>12} {row['clv']:>12,.2f} {row['p_alive']:>8.3f} {row['frequency']:>9.0f} "
            f"{row['expected_avg_spend']:>10,.2f}  {row['value_tier']}"
        )
    tables = outs["tables"]
    lines += [
        "Where things are:",
        f"  tables:      {tables['features']} (features), {tables['targets']} (predictions)"
        + (f", {tables['quarantine']} (quarantine)" if tables.get("quarantine") else "")
        + (f" in {outs['warehouse']}" if outs["warehouse"] else ""),
        f"  files:       {outs['predictions_path']} (Parquet{', CSV' if project.get('csv_path') else ''}, "
        "lineage.json)",
        f"  MLflow:      experiment '{outs['mlflow']['experiment']}' at {outs['mlflow']['tracking_uri']}; "
        f"runs {frequency.get('mlflow_run_id')} (frequency), {monetary.get('mlflow_run_id')} (monetary)",
        *(f"  plots:       {where}" for where in outs.get("plots", {}).values()),
        "Timings: " + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in summary["timings"]["steps"].items()),
    ]
    if ui_command:
        lines.append(f"Open the MLflow UI: {ui_command}")
    return "\n".join(lines)


def _horizon(project: ProjectSummary) -> str:
    months = project.get("horizon_months")
    return f"{months}-month" if months else ""


def _gate_lines(frequency: TrainFrequencySummary, monetary: TrainMonetarySummary) -> list[str]:
    lines = []
    for kind, step in (("frequency", frequency), ("monetary", monetary)):
        gate = step.get("gate") or {}
        if gate:
            lines.append(f"  gate {kind} v{gate.get('challenger_version')}: {gate.get('reason')}")
    return lines
