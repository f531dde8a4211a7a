"""``gda-clv project``: score every customer of one as-of with the champion (or pinned) models.

Reads the feature table, loads both models from the MLflow registry, scores in Spark (gda_clv.data.scoring),
replaces this as-of's rows of the targets table, writes the prediction files and their lineage JSON under
``output.path``. A failed write leaves the previous table rows and files readable.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv import __version__
from gda_clv.data import scoring
from gda_clv.data.scoring import ModelRef, ScoringSpec
from gda_clv.errors import DataError
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.names import AS_OF, CALENDAR_MONTH_DAYS
from gda_clv.pipelines._training import TrainingData, features_at
from gda_clv.pipelines.lineage import PREDICTION_RUN, STEP, RunIdentity, build_lineage, projection_record
from gda_clv.pipelines.summaries import ModelsUsed, ProjectSummary, TopCustomer
from gda_clv.utils.config_utils import config_to_dict
from gda_clv.utils.pipelines import save_to_blob
from gda_clv.utils.pipelines.pyfunc import unwrap_model
from gda_clv.utils.pipelines.run_folders import InferenceOutput
from gda_clv.utils.registry import CHAMPION, load_registered_model

if TYPE_CHECKING:
    from mlflow.pyfunc import PyFuncModel

    from gda_clv.utils.common import JobContext
    from gda_clv.utils.config_schema import Config

TOP_N = 10


@dataclass(frozen=True)
class Models:
    """The two models a projection scores with and the registered versions they are."""

    frequency: FrequencyModel
    frequency_ref: ModelRef
    monetary: GammaGammaModel
    monetary_ref: ModelRef

    def used(self) -> ModelsUsed:
        """Name, version, run, type and estimates of both models (summary and lineage)."""
        return {
            "frequency": {"name": self.frequency_ref.name, "version": self.frequency_ref.version,
                          "run_id": self.frequency_ref.run_id, "type": self.frequency.type,
                          "params": dict(self.frequency.params_)},
            "monetary": {"name": self.monetary_ref.name, "version": self.monetary_ref.version,
                         "run_id": self.monetary_ref.run_id, "type": "gamma_gamma",
                         "params": dict(self.monetary.params_)},
        }


@dataclass(frozen=True)
class Scores:
    """The scored customers with their value tiers, and what the driver learned about them."""

    predictions: DataFrame
    customers: int
    distinct_tuples: int
    thresholds: list[float]
    tier_counts: dict[str, int]
    clv_total: float
    top: list[TopCustomer]


def _load_model(ctx: JobContext, kind: str) -> tuple[PyFuncModel, ModelRef]:
    """The pyfunc model of ``kind`` to score with and its registered version."""
    name = ctx.registered_model_name(kind)
    pinned = getattr(ctx.config.projection.model_versions, kind)
    pyfunc_model, version = load_registered_model(
        name, alias=CHAMPION, version=pinned, run_first=f"`gda-clv train-{kind} --env {ctx.env}`"
    )
    return pyfunc_model, ModelRef(name, str(version.version), version.run_id)


def read_models(ctx: JobContext) -> Models:
    """The champion (or ``projection.model_versions``-pinned) models from the registry.

    Raises ``ModelError`` naming the training step to run when a model is not registered, or the version when it
    holds the other kind of model.
    """
    with ctx.phase("project: load champion models"):
        frequency, frequency_ref = _load_model(ctx, "frequency")
        monetary, monetary_ref = _load_model(ctx, "monetary")
    return Models(FrequencyModel.checked(unwrap_model(frequency), f"{frequency_ref.name} v{frequency_ref.version}"),
                  frequency_ref,
                  GammaGammaModel.checked(unwrap_model(monetary), f"{monetary_ref.name} v{monetary_ref.version}"),
                  monetary_ref)


def _scoring_spec(config: Config) -> ScoringSpec:
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


def _top_customers(predictions: DataFrame, n: int = TOP_N) -> list[TopCustomer]:
    rows = predictions.orderBy(F.desc("clv"), "customer_id").limit(n).select(*TopCustomer.__annotations__).collect()
    return [{"customer_id": r["customer_id"], "clv": r["clv"], "p_alive": r["p_alive"], "frequency": r["frequency"],
             "monetary_value": r["monetary_value"], "expected_avg_spend": r["expected_avg_spend"],
             "value_tier": r["value_tier"]} for r in rows]


def aggregate(ctx: JobContext, result: scoring.Scored, scored: DataFrame, spec: ScoringSpec,
              run_folder: str) -> Scores:
    """Check the (persisted) ``scored`` customers, assign value tiers and aggregate them (only totals reach the
    driver).

    Raises ``DataError`` (``scoring.checked_thresholds``) when a score is not finite.
    """
    projection = ctx.config.projection
    with ctx.phase("project: check scores and tiers"):
        thresholds = scoring.checked_thresholds(scored, spec, projection.tier_quantiles)
    predictions = scoring.assign_value_tiers(scored, thresholds, projection.tier_labels).withColumn(
        PREDICTION_RUN, F.lit(run_folder)
    )
    tiers = predictions.groupBy("value_tier").agg(F.count(F.lit(1)).alias("n"), F.sum("clv").alias("clv")).collect()
    return Scores(predictions, result.customers, result.distinct_tuples, thresholds,
                  tier_counts={r["value_tier"]: int(r["n"]) for r in tiers},
                  clv_total=float(sum(r["clv"] or 0.0 for r in tiers)), top=_top_customers(predictions))


def run_identity(ctx: JobContext) -> RunIdentity:
    """Environment, run ids, package version, git commit and config hash of this run (for the lineage)."""
    return {"env": ctx.env, "run_id": ctx.run_id, "job_run_id": ctx.job_run, "package_version": __version__,
            "commit_id": save_to_blob.get_commit_id(ctx.dbutils),
            "config_hash": save_to_blob.config_hash(config_to_dict(ctx.config))}


@dataclass(frozen=True)
class Written:
    """Where the predictions went: the run's files, its lineage, the runs cleaned up; the commit that wrote them."""

    files: InferenceOutput
    lineage_path: str
    removed_runs: tuple[str, ...]
    commit_id: str


def write(ctx: JobContext, scores: Scores, data: TrainingData, models: Models, spec: ScoringSpec,
          started: dt.datetime, run_folder: str) -> Written:
    """Write the files and lineage (not yet visible), then this as_of's table rows, then publish the files.

    A kill at any point leaves every table row pointing (``prediction_run``) at a folder with its files and lineage.
    """
    config, targets, feature_name = ctx.config, ctx.targets_table.full_name, ctx.feature_table.full_name
    with ctx.phase(f"project: write files under {ctx.output_path}"):
        files = save_to_blob.write_run_files(
            scores.predictions, ctx.output_path, ctx.run_id, run_time=started, write_csv=config.output.write_csv,
            dbutils=ctx.dbutils,
        )
        identity = run_identity(ctx)
        lineage = build_lineage(
            identity, models.used(), data.as_of,
            {"customers_scored": scores.customers, "distinct_input_tuples": scores.distinct_tuples},
            {"name": feature_name, "version": _table_version(ctx, feature_name)}, targets, run_folder,
            projection_record(spec, list(config.projection.tier_quantiles), list(config.projection.tier_labels),
                              scores.thresholds),
            started,
        )
        lineage_path = save_to_blob.save_meta_to_blob_storage(lineage, files.run_folder, dbutils=ctx.dbutils)
    with ctx.phase(f"project: write {targets} (as_of={data.as_of})"):
        ctx.tables.replace_where(scores.predictions, targets, AS_OF, data.as_of)
    with ctx.phase("project: publish the prediction files"):
        removed = save_to_blob.publish_run(ctx.output_path, files.run_folder, config.output.keep_last, ctx.dbutils)
    return Written(files, lineage_path, removed, identity["commit_id"])


def summary(ctx: JobContext, data: TrainingData, models: Models, spec: ScoringSpec, scores: Scores,
            written: Written) -> ProjectSummary:
    """The step summary: what was scored with which models, where it was written, the CLV totals and tiers."""
    quantiles = ctx.config.projection.tier_quantiles
    return {
        "step": STEP,
        "as_of": str(data.as_of),
        "customers_scored": scores.customers,
        "distinct_input_tuples": scores.distinct_tuples,
        "models": models.used(),
        "targets_table": ctx.targets_table.full_name,
        "feature_table": ctx.feature_table.full_name,
        "predictions_path": written.files.run_folder,
        "parquet_path": written.files.parquet_path,
        "csv_path": written.files.csv_path,
        "lineage_path": written.lineage_path,
        "removed_runs": list(written.removed_runs),
        "horizon_months": spec.horizon_months,
        "horizon_units": scoring.horizon_units(spec),
        "discount_rate": spec.discount_rate,
        "clv_total": scores.clv_total,
        "clv_mean": scores.clv_total / scores.customers if scores.customers else 0.0,
        "tier_thresholds": dict(zip(map(str, quantiles), scores.thresholds, strict=True)),
        "tier_counts": scores.tier_counts,
        "top_customers": scores.top,
        "commit_id": written.commit_id,
    }


def run(ctx: JobContext, as_of: str | dt.date | None = None) -> ProjectSummary:
    """Score the customers of ``as_of``, write the targets table and the files; returns the step summary.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).
    """
    started = dt.datetime.now(dt.timezone.utc)
    ctx.require_mlflow()
    models = read_models(ctx)
    data = features_at(ctx, as_of, calibration=False)  # DataError naming the as_of and what to run
    spec = _scoring_spec(ctx.config)
    with ctx.phase("project: score customers"):
        result = scoring.score_customers(data.features, models.frequency, models.monetary, spec, models.frequency_ref,
                                         models.monetary_ref)
    _check_targets_columns(ctx, ctx.targets_table.full_name, [*result.frame.columns, "value_tier", PREDICTION_RUN])
    scored = result.frame.persist(StorageLevel.MEMORY_AND_DISK)
    run_folder = save_to_blob.run_folder_name(ctx.run_id, started)
    try:
        scores = aggregate(ctx, result, scored, spec, run_folder)
        written = write(ctx, scores, data, models, spec, started, run_folder)
    finally:
        scored.unpersist()
    ctx.logger.info(
        "project: scored %d customers (%d distinct input tuples) at as_of=%s with %s v%s + %s v%s",
        scores.customers, scores.distinct_tuples, data.as_of, models.frequency_ref.name, models.frequency_ref.version,
        models.monetary_ref.name, models.monetary_ref.version,
    )
    return summary(ctx, data, models, spec, scores, written)
