"""``gda-clv monitor``: drift and model-performance metrics of one scoring run, with alerts.

For the ``as_of`` it is handed (``--as-of``) of the targets table, against the previous ``as_of`` (the reference):
- features: PSI and KS of frequency, recency, T and monetary_value;
- predictions: PSI and KS of CLV, P(alive) and the expected purchases, and the change of each tier's share;
- performance over time: for every earlier ``as_of`` whose horizon has elapsed at a later feature ``as_of``,
  bias and MAE of the predicted purchases and revenue, overall and by value tier.
Rows go to the monitoring table (replacing this run's rows), metrics to an MLflow run; breaches are logged and
listed in the summary, and with ``monitoring.fail_on_alert`` the step fails (exit status 1).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.data.scoring import purchases_column
from gda_clv.errors import DataError
from gda_clv.monitoring import drift, performance, report
from gda_clv.monitoring.alerts import MetricRow, alerts, evaluate
from gda_clv.names import AS_OF
from gda_clv.pipelines._training import LATEST, requested_as_of
from gda_clv.utils.pipelines import save_to_blob

RUN_AS_OF = "run_as_of"
FEATURE_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _as_ofs(ctx: Any, name: str) -> list[dt.date]:
    if not ctx.tables.exists(name):
        return []
    return sorted(r[0] for r in ctx.tables.read(name).select(AS_OF).distinct().collect())


def _at(df: DataFrame, as_of: dt.date) -> DataFrame:
    return df.where(F.col(AS_OF) == F.lit(as_of))


def _drift_rows(reference: DataFrame, current: DataFrame, columns: list[str], as_of: str, ref_as_of: str,
                bins: int, thresholds: Any) -> list[MetricRow]:
    rows = []
    for column in columns:
        result = drift.column_drift(reference, current, column, bins)
        rows.append(evaluate(as_of, "psi", column, result.psi, thresholds.psi, ref_as_of))
        rows.append(evaluate(as_of, "ks", column, result.ks, thresholds.ks, ref_as_of))
    return rows


def _tier_shares(predictions: DataFrame) -> dict[str, float]:
    counts = {r["value_tier"]: int(r["n"]) for r in predictions.groupBy("value_tier").count().withColumnRenamed(
        "count", "n").collect()}
    total = sum(counts.values())
    return {tier: n / total for tier, n in counts.items()} if total else {}


def _tier_rows(reference: DataFrame, current: DataFrame, as_of: str, ref_as_of: str, threshold: float
               ) -> list[MetricRow]:
    before, now = _tier_shares(reference), _tier_shares(current)
    return [evaluate(as_of, "tier_share_change", f"value_tier={tier}", now.get(tier, 0.0) - before.get(tier, 0.0),
                     threshold, ref_as_of) for tier in sorted(set(before) | set(now))]


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
                ref = later.isoformat()
                rows += [
                    evaluate(then.isoformat(), "purchases_bias", column, perf.purchases_bias,
                             thresholds.purchases_bias, ref),
                    evaluate(then.isoformat(), "purchases_mae", column, perf.purchases_mae, None, ref),
                    evaluate(then.isoformat(), "purchases_actual", column, perf.purchases_actual, None, ref),
                    evaluate(then.isoformat(), "purchases_predicted", column, perf.purchases_predicted, None, ref),
                    evaluate(then.isoformat(), "revenue_bias", column, perf.revenue_bias,
                             thresholds.revenue_bias, ref),
                    evaluate(then.isoformat(), "revenue_mae", column, perf.revenue_mae, None, ref),
                ]
    return rows


def _log_mlflow(ctx: Any, as_of: str, rows: list[MetricRow]) -> str:
    import mlflow

    ctx.require_mlflow()
    with mlflow.start_run(run_name=f"monitor {as_of}", tags={"gda_clv_step": "monitor", "as_of": as_of}) as run:
        metrics = {}
        for r in rows:
            key = f"{r.metric}.{r.column}" + ("" if r.as_of == as_of else f".as_of_{r.as_of}")
            metrics["".join(c if c.isalnum() or c in "._-/" else "_" for c in key)] = r.value
        mlflow.log_metrics(metrics)
        mlflow.log_metric("alerts", sum(r.breached for r in rows))
    return run.info.run_id


def _write_report(ctx: Any, current: DataFrame, as_of: str, rows: list[MetricRow]) -> str | None:
    """The HTML report next to the latest prediction files (None before any prediction files exist)."""
    folder = save_to_blob.latest_run_folder(ctx.output_path, ctx.dbutils)
    if folder is None:
        return None
    edges = drift.bin_edges(current, "clv", 10)
    shares = drift.bin_shares(current, "clv", edges)
    total = current.count()
    labels = [f"{'<' if lo == float('-inf') else f'{lo:,.0f}-'}{hi:,.0f}" if hi != float("inf") else f">{lo:,.0f}"
              for lo, hi in zip(edges, edges[1:], strict=False)]
    tiers = {k: round(v * total) for k, v in sorted(_tier_shares(current).items())}
    top_cols = ["customer_id", "clv", "p_alive", "frequency", "value_tier"]
    top = [r.asDict() for r in current.orderBy(F.desc("clv")).limit(10).select(*top_cols).collect()]
    model_cols = ["frequency_model_name", "frequency_model_version", "monetary_model_name", "monetary_model_version"]
    first = current.select(*model_cols).first()
    lineage = {**(first.asDict() if first else {}), "predictions": folder, "run_id": ctx.run_id}
    text = report.render(as_of, list(zip(labels, [round(s * total) for s in shares], strict=True)), tiers, top,
                         rows, lineage)
    return save_to_blob.save_text_to_blob_storage(text, folder, "report.html", ctx.dbutils)


def run(ctx: Any, as_of: str | dt.date | None = None) -> dict[str, Any]:
    """Compute, store and log the monitoring metrics of ``as_of`` against the as_of scored before it.

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
    current = target_as_ofs[-1] if wanted == LATEST else wanted
    if current not in target_as_ofs:
        raise DataError(
            f"No predictions for as_of {current} in '{targets_name}' (it has: "
            f"{', '.join(d.isoformat() for d in target_as_ofs)}); run `gda-clv project --as-of {current}` first."
        )
    earlier = [d for d in target_as_ofs if d < current]
    previous = earlier[-1] if earlier else None
    as_of, ref_as_of = current.isoformat(), previous.isoformat() if previous else None
    targets, features = ctx.tables.read(targets_name), ctx.tables.read(features_name)
    rows: list[MetricRow] = []
    with ctx.phase(f"monitor: metrics for as_of={as_of}"):
        if previous is not None:
            prediction_columns = ["clv", "p_alive", *(purchases_column(d) for d in config.projection.horizons_days)]
            rows += _drift_rows(_at(features, previous), _at(features, current), list(FEATURE_COLUMNS),
                                as_of, ref_as_of, settings.bins, settings.thresholds)
            rows += _drift_rows(_at(targets, previous), _at(targets, current), prediction_columns,
                                as_of, ref_as_of, settings.bins, settings.thresholds)
            rows += _tier_rows(_at(targets, previous), _at(targets, current), as_of, ref_as_of,
                               settings.thresholds.tier_share_change)
        rows += _performance_rows(targets, features, target_as_ofs[:-1], set(_as_ofs(ctx, features_name)),
                                  list(config.projection.horizons_days), settings.thresholds)
    if rows:
        frame = ctx.spark.createDataFrame([{**r.as_dict(), RUN_AS_OF: as_of} for r in rows],
                                          "as_of string, metric string, column string, value double, threshold "
                                          "double, breached boolean, reference_as_of string, run_as_of string")
        with ctx.phase(f"monitor: write {monitoring_name}"):
            ctx.tables.replace_where(frame, monitoring_name, RUN_AS_OF, as_of)
    messages = alerts(rows)
    for message in messages:
        ctx.logger.warning("monitoring alert: %s", message)
    mlflow_run_id = _log_mlflow(ctx, as_of, rows)
    with ctx.phase("monitor: HTML report"):
        report_path = _write_report(ctx, _at(targets, current), as_of, rows)
    status = "failed" if messages and settings.fail_on_alert else "succeeded"
    if status == "failed":
        ctx.logger.error("monitor: %d alert(s) and monitoring.fail_on_alert is set; failing the task", len(messages))
    ctx.logger.info("monitor: %d metrics for as_of=%s against %s, %d alert(s)", len(rows), as_of, ref_as_of,
                    len(messages))
    return {
        "step": "monitor",
        "status": status,
        "as_of": as_of,
        "monitoring_table": monitoring_name,
        "mlflow_run_id": mlflow_run_id,
        "outputs": {"report_path": report_path},
        "monitoring": {
            "reference_as_of": ref_as_of,
            "metrics": [r.as_dict() for r in rows],
            "alerts": messages,
            "status": "alert" if messages else "ok",
        },
    }
