"""What both training steps share: the feature rows to train on, hyperopt trials, run tags, logging, registration."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import mlflow
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv import __version__
from gda_clv.errors import ConfigError, DataError
from gda_clv.models._lifetimes import quiet
from gda_clv.models._types import FloatArray
from gda_clv.models.base import FittedModel
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.names import AS_OF, CALIBRATION_END
from gda_clv.pipelines.summaries import RegistrySummary
from gda_clv.utils import registry
from gda_clv.utils.pipelines.pyfunc import log_pyfunc_model, unwrap_model
from gda_clv.utils.pipelines.save_to_blob import get_commit_id
from gda_clv.utils.task_values import set_task_values

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from gda_clv.utils.common import JobContext
    from gda_clv.utils.config_schema import TuningConfig

LATEST = "latest"
# The job run (``{{job.run_id}}`` on Databricks) a training run and its model version belong to: how a later task
# of the same job run, in another process, finds them.
JOB_RUN_TAG = "gda_clv_job_run_id"
M = TypeVar("M", bound=FrequencyModel | GammaGammaModel)


@dataclass(frozen=True)
class TrainingData:
    """The feature rows of one as-of, and the dates that frame them (as prepare computed them)."""

    features: DataFrame
    as_of: dt.date
    calibration_end: dt.date


def requested_as_of(ctx: JobContext, as_of: str | dt.date | None) -> dt.date | str:
    """The as_of a step was asked for: a date, ``latest``, or (not given) ``data.observation_end`` from config.

    ConfigError when none of them says which as_of: a downstream step never picks the newest silently.
    """
    if isinstance(as_of, dt.date) or as_of == LATEST:
        return as_of
    if as_of is None:
        if ctx.config.data.observation_end is None:
            raise ConfigError(
                "which as_of? Pass --as-of DATE (the as_of prepare wrote, e.g. its task value as_of) or "
                "--as-of latest, or set data.observation_end."
            )
        return ctx.config.data.observation_end
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise ConfigError(f"--as-of must be a date written YYYY-MM-DD or 'latest', got {as_of!r}") from None


def features_at(ctx: JobContext, as_of: str | dt.date | None, calibration: bool = True) -> TrainingData:
    """Feature rows of the requested as_of with the calibration end prepare used for them.

    DataError naming the as_of, the table and what to run when they are missing. ``calibration=False`` (scoring,
    which uses only the full-period columns) does not need the calibration end: it is then the as_of itself.
    """
    name = ctx.feature_table.full_name
    prepare = f"`gda-clv prepare --env {ctx.env}`"
    if not ctx.tables.exists(name):
        raise DataError(f"Feature table '{name}' does not exist; run {prepare} first.")
    requested = requested_as_of(ctx, as_of)
    table = ctx.tables.read(name)
    if calibration and CALIBRATION_END not in table.columns:
        raise DataError(
            f"Feature table '{name}' has no {CALIBRATION_END} column (written by an older gda_clv); "
            f"rerun {prepare} for this as_of or set tables.features to a new table."
        )
    if isinstance(requested, dt.date):
        wanted = requested
    else:  # latest
        wanted = ctx.tables.max_value(name, AS_OF)
        if wanted is None:
            raise DataError(f"Feature table '{name}' is empty; run {prepare} first.")
    features = table.where(F.col(AS_OF) == F.lit(wanted))
    row = features.select(CALIBRATION_END if calibration else AS_OF).limit(1).first()
    if row is None:
        available = sorted(r[0].isoformat() for r in table.select(AS_OF).distinct().collect())
        raise DataError(
            f"Feature table '{name}' has no rows for as_of {wanted} (it has: {', '.join(available) or 'none'}); "
            f"run {prepare} with data.observation_end={wanted}, or pass one of those dates with --as-of."
        )
    return TrainingData(features=features, as_of=wanted, calibration_end=row[0])


def to_pandas_groups(groups: DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """Collect compressed groups (already aggregated in Spark) as float columns, sorted for a stable order."""
    frame = groups.toPandas()
    if frame.empty:
        return frame
    return frame.astype(float).sort_values(list(keys), ignore_index=True)


def make_trials(ctx: JobContext, tuning: TuningConfig) -> object | None:
    """hyperopt ``SparkTrials`` on Databricks (parallel fits on the cluster), None (plain ``Trials``) locally.

    None, importing nothing, when ``tuning`` runs no search or uses another backend than hyperopt.
    """
    if not ctx.is_databricks or tuning.max_evals == 0 or tuning.backend != "hyperopt":
        return None
    with quiet():
        from hyperopt import SparkTrials

    trials: object = SparkTrials(parallelism=tuning.parallelism, spark_session=ctx.spark)
    return trials


def run_tags(ctx: JobContext, step: str) -> dict[str, str]:
    """Tags of every training run: git commit, environment, region, package version, step, process and job run id."""
    return {
        "git_commit": get_commit_id(ctx.dbutils),
        "env": ctx.env,
        "region": ctx.config.region,
        "gda_clv_version": __version__,
        "step": step,
        "gda_clv_run_id": ctx.run_id,
        JOB_RUN_TAG: ctx.job_run,
    }


def fit_metrics(model: FittedModel, prefix: str = "") -> dict[str, float]:
    """Parameters by name, their standard errors (``se_<name>``) and the log-likelihood, optionally prefixed."""
    out = {f"{prefix}{name}": value for name, value in model.params_.items()}
    out.update({f"{prefix}se_{name}": value for name, value in model.standard_errors_.items()})
    out[f"{prefix}log_likelihood"] = model.log_likelihood_
    out[f"{prefix}penalizer_used"] = model.penalizer_used_
    return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(float(v))}


def weighted_mean(values: FloatArray, weights: FloatArray) -> float:
    return float(np.average(values, weights=weights)) if len(values) else math.nan


def log_figure(ax: Axes, path: str) -> None:
    mlflow.log_figure(ax.figure, path)


def log_trials(trials: pd.DataFrame) -> None:
    """The hyperopt trials as a table artifact (``tuning/trials.json``, shown in the MLflow UI) and as CSV."""
    mlflow.log_table(trials, "tuning/trials.json")
    mlflow.log_text(trials.to_csv(index=False), "tuning/trials.csv")


@dataclass(frozen=True)
class Candidate:
    """A registered challenger version and the gate's decision on it, recorded but not yet applied."""

    model_uri: str
    name: str
    version: str
    decision: registry.GateDecision


def register_and_decide(
    ctx: JobContext,
    kind: str,
    model: M,
    input_example: pd.DataFrame,
    challenger_metric: float,
    metric_of: Callable[[M], float],
    metric: str,
) -> Candidate:
    """Inside the training run: log ``model`` as pyfunc, register it (no alias yet), decide the gate against
    ``@champion`` and record the decision (version tags, run tags). No ``@champion`` move: see :func:`promote`.

    ``metric_of(model)`` computes the holdout metric of a model on this run's holdout; it is applied to the
    current champion, loaded from the registry.
    """
    info = log_pyfunc_model(model, kind, input_example)
    name = ctx.registered_model_name(kind)
    version = registry.register_challenger(
        info.model_uri,
        name,
        tags={
            "gda_clv_run_id": ctx.run_id,
            JOB_RUN_TAG: ctx.job_run,
            "git_commit": get_commit_id(ctx.dbutils),  # what `gda-clv check-meta` compares with the repo
            metric: f"{challenger_metric:.6g}",
        },
    )
    gate = ctx.config.model.registry.gate

    def champion_metric(champion: ModelVersion) -> float:
        loaded, _ = registry.load_registered_model(name, version=champion.version)
        return metric_of(unwrap_model(loaded))

    decision = registry.decide(
        name, str(version.version), challenger_metric, champion_metric, gate.mode, gate.tolerance, metric
    )
    registry.record_decision(name, decision)
    registry.log_gate_decision(decision)
    ctx.logger.info("registry: %s v%s gate %s -> %s", name, version.version, decision.mode, decision.reason)
    return Candidate(info.model_uri, name, str(version.version), decision)


def promote(ctx: JobContext, candidate: Candidate) -> RegistrySummary:
    """After the training run ended (FINISHED, every tag written): apply the gate's decision to ``@champion``,
    publish the version as task values, and return the registry part of the step summary."""
    registry.promote(candidate.name, candidate.decision)
    set_task_values(ctx.dbutils, model_name=candidate.name, model_version=candidate.version)
    return {
        "model_uri": candidate.model_uri,
        "registered_name": candidate.name,
        "version": candidate.version,
        "aliases": registry.aliases_of(candidate.name, candidate.version),
        "gate": candidate.decision.to_dict(),
    }
