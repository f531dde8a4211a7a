"""What both training steps share: the feature rows to train on, hyperopt trials, run tags, logging, registration."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv import __version__
from gda_clv.data.rfm import AS_OF
from gda_clv.errors import DataError
from gda_clv.models._lifetimes import quiet
from gda_clv.models.pyfunc import log_pyfunc_model, unwrap_model
from gda_clv.utils import registry
from gda_clv.utils.feature_store_utils import Timeline
from gda_clv.utils.pipelines.save_to_blob import get_commit_id


@dataclass(frozen=True)
class TrainingData:
    """The feature rows of the latest as-of, and the dates that frame them."""

    features: DataFrame
    as_of: dt.date
    calibration_end: dt.date


def latest_features(ctx: Any) -> TrainingData:
    """Feature rows at the latest ``as_of``; DataError telling to run ``prepare`` when there are none."""
    name = ctx.feature_table.full_name
    as_of = ctx.tables.max_value(name, AS_OF)
    if as_of is None:
        raise DataError(
            f"Feature table '{name}' does not exist or is empty; run `gda-clv prepare --env {ctx.env}` first."
        )
    features = ctx.tables.read(name).where(F.col(AS_OF) == F.lit(as_of))
    data_cfg = ctx.config.data
    timeline = Timeline.resolve(data_cfg.calibration_end, as_of, data_cfg.holdout_days, None)
    return TrainingData(features=features, as_of=as_of, calibration_end=timeline.calibration_end)


def to_pandas_groups(groups: DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """Collect compressed groups (already aggregated in Spark) as float columns, sorted for a stable order."""
    frame = groups.toPandas()
    if frame.empty:
        return frame
    return frame.astype(float).sort_values(list(keys), ignore_index=True)


def make_trials(ctx: Any, tuning: Any) -> Any:
    """hyperopt ``SparkTrials`` on Databricks (parallel fits on the cluster), None (plain ``Trials``) locally.

    None, importing nothing, when ``tuning`` (a TuningConfig) runs no search or uses another backend than hyperopt.
    """
    if not ctx.is_databricks or tuning.max_evals == 0 or tuning.backend != "hyperopt":
        return None
    with quiet():
        from hyperopt import SparkTrials

    return SparkTrials(parallelism=tuning.parallelism, spark_session=ctx.spark)


def run_tags(ctx: Any, step: str) -> dict[str, str]:
    """Tags of every training run: git commit, environment, region, package version, step, pipeline run id."""
    return {
        "git_commit": get_commit_id(ctx.dbutils),
        "env": ctx.env,
        "region": ctx.config.region,
        "gda_clv_version": __version__,
        "step": step,
        "gda_clv_run_id": ctx.run_id,
    }


def fit_metrics(model: Any, prefix: str = "") -> dict[str, float]:
    """Parameters by name, their standard errors (``se_<name>``) and the log-likelihood, optionally prefixed."""
    out = {f"{prefix}{name}": value for name, value in model.params_.items()}
    out.update({f"{prefix}se_{name}": value for name, value in model.standard_errors_.items()})
    out[f"{prefix}log_likelihood"] = model.log_likelihood_
    out[f"{prefix}penalizer_used"] = model.penalizer_used_
    return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(float(v))}


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    return float(np.average(values, weights=weights)) if len(values) else math.nan


def log_figure(ax: Axes, path: str) -> None:
    mlflow.log_figure(ax.figure, path)


def log_trials(trials: pd.DataFrame) -> None:
    """The hyperopt trials as a table artifact (``tuning/trials.json``, shown in the MLflow UI) and as CSV."""
    mlflow.log_table(trials, "tuning/trials.json")
    mlflow.log_text(trials.to_csv(index=False), "tuning/trials.csv")


def register_with_gate(
    ctx: Any,
    kind: str,
    model: Any,
    input_example: pd.DataFrame,
    challenger_metric: float,
    metric_of: Callable[[Any], float],
    metric: str,
) -> dict[str, Any]:
    """Log ``model`` as pyfunc, register it as ``@challenger`` and run the gate against ``@champion``.

    ``metric_of(model)`` computes the holdout metric of a model on this run's holdout; it is applied to the
    current champion, loaded from the registry. Returns the registry part of the step summary.
    """
    info = log_pyfunc_model(model, kind, input_example)
    name = ctx.registered_model_name(kind)
    version = registry.register_challenger(
        info.model_uri,
        name,
        tags={
            "gda_clv_run_id": ctx.run_id,
            "git_commit": get_commit_id(ctx.dbutils),  # what `gda-clv check-meta` compares with the repo
            metric: f"{challenger_metric:.6g}",
        },
    )
    gate = ctx.config.model.registry.gate

    def champion_metric(champion: Any) -> float:
        loaded, _ = registry.load_registered_model(name, version=champion.version)
        return metric_of(unwrap_model(loaded))

    decision = registry.validate_and_promote(
        name, str(version.version), challenger_metric, champion_metric, gate.mode, gate.tolerance, metric
    )
    registry.log_gate_decision(decision)
    ctx.logger.info("registry: %s v%s gate %s -> %s", name, version.version, decision.mode, decision.reason)
    return {
        "model_uri": info.model_uri,
        "registered_name": name,
        "version": str(version.version),
        "aliases": registry.aliases_of(name, str(version.version)),
        "gate": decision.to_dict(),
    }
