"""``gda-clv monitor``: input-data, drift and model-performance metrics of one scoring run, with alerts.

For the ``as_of`` it is handed (``--as-of``) of the targets table, against two references: the previous ``as_of``
(``previous_as_of``) and the window the champion frequency model was trained on (``champion_training``: its
training run's ``as_of`` and ``calibration_end`` params, found from the model version that scored this as_of):
- input data (the per-day summary prepare wrote to ``tables.input_summary``; the source is not read): transactions
  per day, share of new customers, quarantine share and the amount distribution of the last
  ``monitoring.input_window_days`` days, against the same days before the previous as_of and against the champion's
  calibration period (amount PSI/KS on reference quantile edges snapped to the summary's 1% amount grid);
- features: PSI and KS of frequency, recency, T and monetary_value (against the champion: its calibration features);
- predictions: PSI and KS of CLV, P(alive) and the expected purchases, and the change of each tier's share;
- performance over time: for every earlier ``as_of`` whose horizon has elapsed at a later feature ``as_of``,
  bias and MAE of the predicted purchases and revenue, overall and by value tier; and the tracking plot
  (cumulative repeat transactions by week, actual vs the champion's expectation) in the report.
Rows go to the monitoring table (replacing this run's rows), metrics to an MLflow run; breaches are logged and
listed in the summary, and with ``monitoring.fail_on_alert`` the step fails (exit status 1).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from gda_clv.data.scoring import purchases_column
from gda_clv.errors import DataError
from gda_clv.monitoring import drift, inputs, performance, report, tracking
from gda_clv.monitoring.alerts import MetricRow, alerts, evaluate
from gda_clv.names import AS_OF
from gda_clv.pipelines._training import requested_as_of
from gda_clv.utils import registry
from gda_clv.utils.pipelines import save_to_blob
from gda_clv.utils.pipelines.pyfunc import unwrap_model

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext

RUN_AS_OF = "run_as_of"
FEATURE_COLUMNS = ("frequency", "recency", "T", "monetary_value")
PREVIOUS, TRAINING, LATER, CURRENT = "previous_as_of", "champion_training", "later_actuals", "current"


@dataclass(frozen=True)
class Champion:
    """The frequency model version that scored the as_of, and the window its training run used.

    Rows against it carry ``reference_as_of`` = ``calibration_end``: the model saw the log up to that date.
    """

    name: str
    version: str
    as_of: dt.date
    calibration_end: dt.date
    model: Any


def _as_ofs(ctx: JobContext, name: str) -> list[dt.date]:
    if not ctx.tables.exists(name):
        return []
    return sorted(r[0] for r in ctx.tables.read(name).select(AS_OF).distinct().collect())


def _at(df: DataFrame, as_of: dt.date) -> DataFrame:
    return df.where(F.col(AS_OF) == F.lit(as_of))


def _champion(ctx: JobContext, predictions: DataFrame) -> Champion | None:
    """The scoring frequency model and its training window (None, logged, when its run lacks those params)."""
    from mlflow.tracking import MlflowClient

    first = predictions.select("frequency_model_name", "frequency_model_version").first()
    if first is None:
        return None
    name, version = first["frequency_model_name"], first["frequency_model_version"]
    pyfunc_model, found = registry.load_registered_model(name, version=version)
    params = MlflowClient().get_run(found.run_id).data.params if found.run_id else {}
    if "as_of" not in params or "calibration_end" not in params:
        ctx.logger.warning("monitor: %s version %s has no as_of/calibration_end run params: no champion reference",
                           name, version)
        return None
    return Champion(name, str(version), dt.date.fromisoformat(params["as_of"]),
                    dt.date.fromisoformat(params["calibration_end"]), unwrap_model(pyfunc_model))


def _input_summary(ctx: JobContext, as_of: dt.date) -> DataFrame:
    """The per-day rows prepare wrote for ``as_of`` to ``tables.input_summary`` (lazy; :func:`_days` checks them)."""
    name = ctx.input_summary_table_name
    if not ctx.tables.exists(name):
        raise _no_summary(ctx, name, as_of)
    return _at(ctx.tables.read(name), as_of)


def _no_summary(ctx: JobContext, name: str, as_of: dt.date) -> DataError:
    return DataError(
        f"No input summary for as_of {as_of} in '{name}': that as_of was prepared by an older gda_clv version. "
        f"Re-run prepare for it: `gda-clv prepare --env {ctx.env} --set data.observation_end={as_of}`.")


def _days(ctx: JobContext, summary: DataFrame, as_of: dt.date) -> list[inputs.Day]:
    """The summary's days (DataError naming the fix when there are none, or counted with another ``data.freq``)."""
    days = inputs.days_of(summary, ctx.config.data.freq)
    if not days:
        raise _no_summary(ctx, ctx.input_summary_table_name, as_of)
    return days


def _input_rows(summary: DataFrame, days: list[inputs.Day], as_of: dt.date, references: list[inputs.Window],
                settings: Any) -> list[MetricRow]:
    """Levels of the current window and each reference window, and the change against each reference.

    Levels are sums of ``days``; the amount histograms of every window are summed from ``summary`` in one pass.
    """
    span = dt.timedelta(days=settings.input_window_days - 1)
    current = inputs.window_stats(days, inputs.Window(CURRENT, as_of - span, as_of))
    histograms = inputs.amount_histograms(summary, {w.name: w for w in [current.window, *references]})
    amounts = {w.name: drift.histogram_drift(histograms[w.name], histograms[CURRENT], settings.bins)
               for w in references}
    thresholds, day = settings.thresholds, as_of.isoformat()
    rows = [evaluate(day, name, "input", current.level(name), None, day, CURRENT) for name in inputs.LEVELS]
    for window in references:
        ref = inputs.window_stats(days, window)
        ref_as_of = window.end.isoformat()
        rows += [evaluate(day, name, "input", ref.level(name), None, ref_as_of, window.name) for name in inputs.LEVELS]
        rows += [evaluate(day, f"{name}_change", "input", inputs.change(name, current, ref),
                          getattr(thresholds, f"{name}_change"), ref_as_of, window.name) for name in inputs.LEVELS]
        rows += [evaluate(day, "psi", "amount", amounts[window.name].psi, thresholds.psi, ref_as_of, window.name),
                 evaluate(day, "ks", "amount", amounts[window.name].ks, thresholds.ks, ref_as_of, window.name)]
    return rows


def _where(as_of: dt.date, column: str, condition: Column | None = None) -> Column:
    """``column`` in the rows of ``as_of`` (and ``condition``), null elsewhere."""
    rows = F.col(AS_OF) == F.lit(as_of)
    return F.when(rows & condition if condition is not None else rows, F.col(column))


@dataclass(frozen=True)
class _Reference:
    """Rows of a table that drift compares against: the rows at ``as_of`` meeting ``condition``, the values in the
    columns named with ``suffix`` (the champion's calibration features: ``T_cal`` not null, ``frequency_cal``...);
    ``rows`` is that selection as its own frame, columns named plainly."""

    name: str
    as_of: dt.date
    rows: DataFrame
    condition: Column | None = None
    suffix: str = ""


def _drifts(table: DataFrame, current: dt.date, references: list[_Reference], columns: list[str], bins: int
            ) -> dict[tuple[str, str], drift.Drift]:
    """Drift of ``columns`` at ``current`` against each reference of ``table``, keyed (reference name, column).

    Edges: one quantile pass over each reference's own rows; counts: one pass over the table's as_ofs involved.
    """
    edges: dict[tuple[str, str], list[float]] = {}
    comparisons = {}
    for ref in references:
        edges.update({(ref.name, c): e for c, e in drift.quantile_edges(
            ref.rows, {c: F.col(c) for c in columns}, bins).items()})
        comparisons.update({(ref.name, c): drift.Comparison(_where(ref.as_of, f"{c}{ref.suffix}", ref.condition),
                                                            _where(current, c)) for c in columns})
    involved = table.where(F.col(AS_OF).isin([current, *(ref.as_of for ref in references)]))
    return drift.compare(involved, comparisons, edges)


def _drift_rows(results: dict[tuple[str, str], drift.Drift], reference_name: str, columns: list[str], as_of: str,
                ref_as_of: str, thresholds: Any) -> list[MetricRow]:
    rows = []
    for column in columns:
        result = results[(reference_name, column)]
        rows.append(evaluate(as_of, "psi", column, result.psi, thresholds.psi, ref_as_of, reference_name))
        rows.append(evaluate(as_of, "ks", column, result.ks, thresholds.ks, ref_as_of, reference_name))
    return rows


def _training_reference(features: DataFrame, champion: Champion) -> _Reference:
    """The champion's training rows (customers with a calibration history), its calibration features."""
    calibrated = F.col("T_cal").isNotNull()
    rows = _at(features, champion.as_of).where(calibrated)
    return _Reference(TRAINING, champion.as_of, rows.select(*(F.col(f"{c}_cal").alias(c) for c in FEATURE_COLUMNS)),
                      calibrated, "_cal")


def _tier_counts(targets: DataFrame, as_ofs: list[dt.date]) -> dict[dt.date, dict[str, int]]:
    """Customers by value tier at each of ``as_ofs``: one aggregation."""
    counts: dict[dt.date, dict[str, int]] = {d: {} for d in as_ofs}
    for r in targets.where(F.col(AS_OF).isin(as_ofs)).groupBy(AS_OF, "value_tier").count().collect():
        counts[r[AS_OF]][r["value_tier"]] = int(r["count"])
    return counts


def _shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {tier: n / total for tier, n in counts.items()} if total else {}


def _tier_rows(before: dict[str, float], now: dict[str, float], as_of: str, ref_as_of: str, threshold: float
               ) -> list[MetricRow]:
    return [evaluate(as_of, "tier_share_change", f"value_tier={tier}", now.get(tier, 0.0) - before.get(tier, 0.0),
                     threshold, ref_as_of, PREVIOUS) for tier in sorted(set(before) | set(now))]


def _performance_rows(targets: DataFrame, features: DataFrame, target_as_ofs: list[dt.date],
                      feature_as_ofs: set[dt.date], horizons: list[int], thresholds: Any) -> list[MetricRow]:
    """Rows keyed by the earlier as_of, for each horizon that ends exactly at a feature as_of."""
    rows = []
    for then in target_as_ofs:
        for days in horizons:
            later = then + dt.timedelta(days=int(days))
            if later not in feature_as_ofs:
                continue
            actual = performance.actuals(_at(features, then), _at(features, later))
            predictions = _at(targets, then)
            results = {**performance.by_group(predictions, actual, purchases_column(days)),
                       **{f"value_tier={k}": v for k, v in
                          performance.by_group(predictions, actual, purchases_column(days), "value_tier").items()}}
            for group, perf in results.items():
                column = f"{days}d" if group == "all" else f"{days}d,{group}"
                values = {
                    "purchases_bias": (perf.purchases_bias, thresholds.purchases_bias),
                    "purchases_mae": (perf.purchases_mae, None),
                    "purchases_actual": (perf.purchases_actual, None),
                    "purchases_predicted": (perf.purchases_predicted, None),
                    "revenue_bias": (perf.revenue_bias, thresholds.revenue_bias),
                    "revenue_mae": (perf.revenue_mae, None),
                }
                rows += [evaluate(then.isoformat(), metric, column, value, threshold, later.isoformat(), LATER)
                         for metric, (value, threshold) in values.items()]
    return rows


def _metrics_frame(spark: SparkSession, rows: list[MetricRow], as_of: str) -> DataFrame:
    """The monitoring table's rows of this run (``rows`` not empty), sent to Spark as Arrow: a list of rows would
    start a Python worker. Values are finite by construction; a missing threshold is null."""
    import pandas as pd

    frame = pd.DataFrame([{**r.as_dict(), RUN_AS_OF: as_of} for r in rows])
    return spark.createDataFrame(frame, "as_of string, metric string, column string, value double, threshold double, "
                                        "breached boolean, reference_as_of string, reference string, run_as_of string")


def _log_mlflow(ctx: JobContext, as_of: str, rows: list[MetricRow]) -> str:
    """One MLflow run: a metric ``metric.column[.reference][.as_of_<earlier as_of>]`` per row, and ``alerts``."""
    import mlflow

    with mlflow.start_run(run_name=f"monitor {as_of}", tags={"gda_clv_step": "monitor", "as_of": as_of}) as run:
        metrics = {}
        for r in rows:
            key = (f"{r.metric}.{r.column}" + (f".{r.reference}" if r.reference and r.reference != LATER else "")
                   + ("" if r.as_of == as_of else f".as_of_{r.as_of}"))
            metrics["".join(c if c.isalnum() or c in "._-/" else "_" for c in key)] = r.value
        mlflow.log_metrics(metrics)
        mlflow.log_metric("alerts", sum(r.breached for r in rows))
    run_id: str = run.info.run_id
    return run_id


def _tracking(days: list[inputs.Day], as_of: dt.date, champion: Champion, config: Any) -> tracking.Tracking:
    cohorts, repeats = tracking.period_counts(days, config.data.freq, as_of)
    return tracking.tracking(cohorts, repeats, champion.model, inputs.first_clean_day(days), as_of,
                             config.data.freq, config.data.freq_multiplier)


def _p_alive_grid(current: DataFrame, top: float, cells: int = 10) -> list[tuple[int, int, float]]:
    """Mean P(alive) by (frequency, recency) cell: frequency capped at ``cells``-1, recency in ``cells`` bins up to
    ``top`` (the largest recency)."""
    grid = current.groupBy(
        F.least(F.col("frequency"), F.lit(cells - 1)).cast("int").alias("f"),
        F.least(F.floor(F.col("recency") / F.lit(top / cells)), F.lit(cells - 1)).cast("int").alias("r"),
    ).agg(F.avg("p_alive").alias("p")).collect()
    return [(int(g["f"]), int(g["r"]), float(g["p"])) for g in grid]


def _write_report(ctx: JobContext, current: DataFrame, as_of_date: dt.date, rows: list[MetricRow],
                  track: tracking.Tracking | None, champion: Champion | None) -> str | None:
    """The HTML report next to the latest prediction files (None before any prediction files exist)."""
    as_of = as_of_date.isoformat()
    folder = save_to_blob.latest_run_folder(ctx.output_path, ctx.dbutils)
    if folder is None:
        return None
    clv = {"clv": F.col("clv")}
    edges = drift.quantile_edges(current, clv)["clv"]
    shares = drift.bin_shares(current, {"clv": (clv["clv"], edges)})["clv"]
    by_tier = current.groupBy("value_tier").agg(F.count(F.lit(1)).alias("n"), F.max("recency").alias("top")).collect()
    counts = {r["value_tier"]: int(r["n"]) for r in by_tier}
    total = sum(counts.values())  # every row has a tier
    top_recency = max((r["top"] for r in by_tier if r["top"] is not None), default=None) or 1.0
    labels = [f"{'<' if lo == float('-inf') else f'{lo:,.0f}-'}{hi:,.0f}" if hi != float("inf") else f">{lo:,.0f}"
              for lo, hi in zip(edges, edges[1:], strict=False)]
    tiers = {k: round(v * total) for k, v in sorted(_shares(counts).items())}
    top_cols = ["customer_id", "clv", "p_alive", "frequency", "value_tier"]
    model_cols = ["frequency_model_name", "frequency_model_version", "monetary_model_name", "monetary_model_version"]
    ranked = [r.asDict() for r in current.orderBy(F.desc("clv")).limit(10).select(*top_cols, *model_cols).collect()]
    top = [{k: r[k] for k in top_cols} for r in ranked]
    models = {k: ranked[0][k] for k in model_cols} if ranked else {}  # one model pair scores an as_of
    lineage = {**models, "predictions": folder, "run_id": ctx.run_id}
    if champion is not None:
        lineage.update({"frequency_model_training_as_of": champion.as_of.isoformat(),
                        "frequency_model_calibration_end": champion.calibration_end.isoformat()})
    text = report.render(as_of, list(zip(labels, [round(s * total) for s in shares], strict=True)), tiers, top,
                         rows, lineage, track, champion.calibration_end if champion else None,
                         _p_alive_grid(current, top_recency))
    return save_to_blob.save_text_to_blob_storage(text, folder, "report.html", ctx.dbutils)


def run(ctx: JobContext, as_of: str | dt.date | None = None) -> dict[str, Any]:
    """Compute, store and log the monitoring metrics of ``as_of`` against the previous as_of and the champion.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).
    Returns the step summary; raises DataError when that as_of has no predictions.
    """
    config = ctx.config
    settings = config.monitoring
    targets_name, features_name = ctx.targets_table.full_name, ctx.feature_table.full_name
    monitoring_name = ctx.monitoring_table_name
    target_as_ofs = _as_ofs(ctx, targets_name)
    if not target_as_ofs:
        raise DataError(f"No predictions in '{targets_name}' to monitor. Run `gda-clv project --env {ctx.env}` first.")
    wanted = requested_as_of(ctx, as_of)
    current = wanted if isinstance(wanted, dt.date) else target_as_ofs[-1]  # else: latest
    if current not in target_as_ofs:
        raise DataError(
            f"No predictions for as_of {current} in '{targets_name}' (it has: "
            f"{', '.join(d.isoformat() for d in target_as_ofs)}); run `gda-clv project --as-of {current}` first."
        )
    earlier = [d for d in target_as_ofs if d < current]
    previous = earlier[-1] if earlier else None
    as_of, ref_as_of = current.isoformat(), previous.isoformat() if previous else None
    targets, features = ctx.tables.read(targets_name), ctx.tables.read(features_name)
    ctx.require_mlflow()  # set up at the edge (gda-clv, or the notebook), as for every step that logs to MLflow
    champion = _champion(ctx, _at(targets, current))
    feature_as_ofs = set(_as_ofs(ctx, features_name))
    rows: list[MetricRow] = []
    with ctx.phase(f"monitor: input data for as_of={as_of}"):
        # a champion trained at a later as_of was trained on days after this one: its prepare summarised them
        summary_as_of = max(current, champion.as_of) if champion is not None else current
        summary = _input_summary(ctx, summary_as_of)
        days = _days(ctx, summary, summary_as_of)
        span = dt.timedelta(days=settings.input_window_days - 1)
        windows = [inputs.Window(PREVIOUS, previous - span, previous)] if previous else []
        if champion is not None:
            windows.append(inputs.Window(TRAINING, inputs.first_clean_day(days), champion.calibration_end))
        rows += _input_rows(summary, days, current, windows, settings)
        track = _tracking(days, current, champion, config) if champion else None
    with ctx.phase(f"monitor: drift and performance for as_of={as_of}"):
        feature_references = [_Reference(PREVIOUS, previous, _at(features, previous))] if previous else []
        if champion is not None and champion.as_of in feature_as_ofs:
            feature_references.append(_training_reference(features, champion))
        feature_drift = _drifts(features, current, feature_references, list(FEATURE_COLUMNS), settings.bins)
        if previous is not None:
            previous_as_of = previous.isoformat()
            prediction_columns = ["clv", "p_alive", *(purchases_column(d) for d in config.projection.horizons_days)]
            prediction_drift = _drifts(targets, current, [_Reference(PREVIOUS, previous, _at(targets, previous))],
                                       prediction_columns, settings.bins)
            tiers = _tier_counts(targets, [previous, current])
            rows += _drift_rows(feature_drift, PREVIOUS, list(FEATURE_COLUMNS), as_of, previous_as_of,
                                settings.thresholds)
            rows += _drift_rows(prediction_drift, PREVIOUS, prediction_columns, as_of, previous_as_of,
                                settings.thresholds)
            rows += _tier_rows(_shares(tiers[previous]), _shares(tiers[current]), as_of, previous_as_of,
                               settings.thresholds.tier_share_change)
        if champion is not None and champion.as_of in feature_as_ofs:
            rows += _drift_rows(feature_drift, TRAINING, list(FEATURE_COLUMNS), as_of,
                                champion.calibration_end.isoformat(), settings.thresholds)
        rows += _performance_rows(targets, features, target_as_ofs[:-1], feature_as_ofs,
                                  list(config.projection.horizons_days), settings.thresholds)
    if rows:
        frame = _metrics_frame(ctx.spark, rows, as_of)
        with ctx.phase(f"monitor: write {monitoring_name}"):
            ctx.tables.replace_where(frame, monitoring_name, RUN_AS_OF, as_of)
    messages = alerts(rows)
    for message in messages:
        ctx.logger.warning("monitoring alert: %s", message)
    mlflow_run_id = _log_mlflow(ctx, as_of, rows)
    with ctx.phase("monitor: HTML report"):
        report_path = _write_report(ctx, _at(targets, current), current, rows, track, champion)
    status = "failed" if messages and settings.fail_on_alert else "succeeded"
    if status == "failed":
        ctx.logger.error("monitor: %d alert(s) and monitoring.fail_on_alert is set; failing the task", len(messages))
    ctx.logger.info("monitor: %d metrics for as_of=%s against %s, %d alert(s)", len(rows), as_of, ref_as_of,
                    len(messages))
    references = {PREVIOUS: ref_as_of, TRAINING: None if champion is None else {
        "model": f"{champion.name}/{champion.version}", "as_of": champion.as_of.isoformat(),
        "calibration_end": champion.calibration_end.isoformat()}}
    return {
        "step": "monitor",
        "status": status,
        "as_of": as_of,
        "monitoring_table": monitoring_name,
        "mlflow_run_id": mlflow_run_id,
        "outputs": {"report_path": report_path},
        "monitoring": {
            "reference_as_of": ref_as_of,
            "references": references,
            "metrics": [r.as_dict() for r in rows],
            "alerts": messages,
            "status": "alert" if messages else "ok",
        },
    }
