"""``gda-clv project``: score every customer of one as-of with the champion (or pinned) models.

Reads the feature table, loads both models from the MLflow registry, scores in Spark (gda_clv.data.scoring),
replaces this as-of's rows of the targets table, writes the prediction files and their lineage JSON under
``output.path``. A failed write leaves the previous table rows and files readable.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv import __version__
from gda_clv.data import scoring
from gda_clv.data.scoring import ModelRef, ScoringSpec
from gda_clv.errors import DataError
from gda_clv.names import AS_OF, CALENDAR_MONTH_DAYS
from gda_clv.pipelines._training import features_at
from gda_clv.utils.config_utils import config_to_dict
from gda_clv.utils.pipelines import save_to_blob
from gda_clv.utils.pipelines.pyfunc import unwrap_model
from gda_clv.utils.registry import CHAMPION, load_registered_model

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext

TOP_N = 10
# On every targets row: the run folder (``date/HHMMSSZ_<run_id>`` under output.path) with its files and lineage.json
PREDICTION_RUN = "prediction_run"


def _load_model(ctx: JobContext, kind: str) -> tuple[Any, ModelRef]:
    name = ctx.registered_model_name(kind)
    pinned = getattr(ctx.config.projection.model_versions, kind)
    pyfunc_model, version = load_registered_model(
        name, alias=CHAMPION, version=pinned, run_first=f"`gda-clv train-{kind} --env {ctx.env}`"
    )
    return unwrap_model(pyfunc_model), ModelRef(name, str(version.version), version.run_id)


def _scoring_spec(config: Any) -> ScoringSpec:
    projection = config.projection
    return ScoringSpec(
        horizons_days=tuple(projection.horizons_days),
        horizon_months=projection.horizon_months,
        discount_rate=projection.discount_rate,
        freq=config.data.freq,
        freq_multiplier=config.data.freq_multiplier,
        month_days=None if projection.month == "lifetimes" else CALENDAR_MONTH_DAYS,
    )


def _table_version(ctx: JobContext, name: str) -> int | None:
    """The Delta version of ``name`` (None for Parquet tables, which have no versions)."""
    if ctx.tables.format != "delta":
        return None
    return int(ctx.spark.sql(f"DESCRIBE HISTORY {name} LIMIT 1").first()["version"])


def _check_targets_columns(ctx: JobContext, name: str, columns: list[str]) -> None:
    """DataError when the targets table exists with other columns than this projection writes."""
    if not ctx.tables.exists(name):
        return
    existing, new = set(ctx.tables.read(name).columns), set(columns)
    if existing != new:
        raise DataError(
            f"The targets table '{name}' has other columns than this projection writes (only in the table: "
            f"{sorted(existing - new)}; only in the projection: {sorted(new - existing)}), e.g. after "
            f"projection.horizons_days changed. Set tables.targets to a new table name or drop '{name}'."
        )


def _models_used(frequency_model: Any, frequency_ref: ModelRef, monetary_model: Any,
                 monetary_ref: ModelRef) -> dict[str, dict[str, Any]]:
    return {
        "frequency": {"name": frequency_ref.name, "version": frequency_ref.version, "run_id": frequency_ref.run_id,
                      "type": getattr(frequency_model, "type", None), "params": dict(frequency_model.params_)},
        "monetary": {"name": monetary_ref.name, "version": monetary_ref.version, "run_id": monetary_ref.run_id,
                     "type": "gamma_gamma", "params": dict(monetary_model.params_)},
    }


def _top_customers(predictions: DataFrame, n: int = TOP_N) -> list[dict[str, Any]]:
    columns = ["customer_id", "clv", "p_alive", "frequency", "monetary_value", "expected_avg_spend", "value_tier"]
    rows = predictions.orderBy(F.desc("clv"), "customer_id").limit(n).select(*columns).collect()
    return [row.asDict() for row in rows]


def run(ctx: JobContext, as_of: str | dt.date | None = None) -> dict[str, Any]:
    """Score the customers of ``as_of``, write the targets table and the files; returns the step summary.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).
    """
    started = dt.datetime.now(dt.timezone.utc)
    config = ctx.config
    ctx.require_mlflow()
    with ctx.phase("project: load champion models"):
        frequency_model, frequency_ref = _load_model(ctx, "frequency")
        monetary_model, monetary_ref = _load_model(ctx, "monetary")
    data = features_at(ctx, as_of, calibration=False)  # DataError naming the as_of and what to run
    features, as_of, feature_name = data.features, data.as_of, ctx.feature_table.full_name
    targets = ctx.targets_table.full_name
    spec = _scoring_spec(config)
    with ctx.phase("project: score customers"):
        result = scoring.score_customers(features, frequency_model, monetary_model, spec, frequency_ref,
                                         monetary_ref)
    customers, distinct_tuples = result.customers, result.distinct_tuples
    _check_targets_columns(ctx, targets, [*result.frame.columns, "value_tier", PREDICTION_RUN])
    scored = result.frame.persist(StorageLevel.MEMORY_AND_DISK)
    run_folder = save_to_blob.run_folder_name(ctx.run_id, started)
    try:
        with ctx.phase("project: check scores and tiers"):
            scoring.check_finite(scored, spec)
            thresholds = scoring.tier_thresholds(scored, config.projection.tier_quantiles)
        predictions = scoring.assign_value_tiers(scored, thresholds, config.projection.tier_labels).withColumn(
            PREDICTION_RUN, F.lit(run_folder)
        )
        tiers = predictions.groupBy("value_tier").agg(F.count(F.lit(1)).alias("n"), F.sum("clv").alias("clv"))
        tier_rows = tiers.collect()
        tier_counts = {r["value_tier"]: int(r["n"]) for r in tier_rows}
        clv_total = float(sum(r["clv"] or 0.0 for r in tier_rows))
        top = _top_customers(predictions)
        # Files and lineage first (not yet visible), then the table, then the files become the latest run: a kill
        # at any point leaves every table row pointing (prediction_run) at a folder with its files and lineage.
        with ctx.phase(f"project: write files under {ctx.output_path}"):
            files = save_to_blob.write_run_files(
                predictions, ctx.output_path, ctx.run_id, run_time=started, write_csv=config.output.write_csv,
                dbutils=ctx.dbutils,
            )
            models = _models_used(frequency_model, frequency_ref, monetary_model, monetary_ref)
            lineage = {
                "step": "project",
                "env": ctx.env,
                "run_id": ctx.run_id,
                "job_run_id": ctx.job_run_id,
                "package_version": __version__,
                "commit_id": save_to_blob.get_commit_id(ctx.dbutils),
                "models": models,
                "as_of": as_of,
                "row_counts": {"customers_scored": customers, "distinct_input_tuples": distinct_tuples},
                "config_hash": save_to_blob.config_hash(config_to_dict(config)),
                "source_table": {"name": feature_name, "version": _table_version(ctx, feature_name)},
                "targets_table": {"name": targets, PREDICTION_RUN: run_folder},
                "projection": {"spec": spec.__dict__ | {"horizons_days": list(spec.horizons_days)},
                               "units": scoring.horizon_units(spec),
                               "tier_quantiles": list(config.projection.tier_quantiles),
                               "tier_labels": list(config.projection.tier_labels), "tier_thresholds": thresholds},
                "timestamps": {"started_at": started.isoformat(),
                               "scored_at": dt.datetime.now(dt.timezone.utc).isoformat()},
            }
            lineage_path = save_to_blob.save_meta_to_blob_storage(lineage, files.run_folder, dbutils=ctx.dbutils)
        with ctx.phase(f"project: write {targets} (as_of={as_of})"):
            ctx.tables.replace_where(predictions, targets, AS_OF, as_of)
        with ctx.phase("project: publish the prediction files"):
            removed = save_to_blob.publish_run(ctx.output_path, files.run_folder, config.output.keep_last, ctx.dbutils)
    finally:
        scored.unpersist()
    ctx.logger.info(
        "project: scored %d customers (%d distinct input tuples) at as_of=%s with %s v%s + %s v%s",
        customers, distinct_tuples, as_of, frequency_ref.name, frequency_ref.version,
        monetary_ref.name, monetary_ref.version,
    )
    return {
        "step": "project",
        "as_of": str(as_of),
        "customers_scored": customers,
        "distinct_input_tuples": distinct_tuples,
        "models": models,
        "targets_table": targets,
        "feature_table": feature_name,
        "predictions_path": files.run_folder,
        "parquet_path": files.parquet_path,
        "csv_path": files.csv_path,
        "lineage_path": lineage_path,
        "removed_runs": list(removed),
        "horizon_months": spec.horizon_months,
        "horizon_units": scoring.horizon_units(spec),
        "discount_rate": spec.discount_rate,
        "clv_total": clv_total,
        "clv_mean": clv_total / customers if customers else 0.0,
        "tier_thresholds": dict(zip(map(str, config.projection.tier_quantiles), thresholds, strict=True)),
        "tier_counts": tier_counts,
        "top_customers": top,
        "commit_id": lineage["commit_id"],
    }
