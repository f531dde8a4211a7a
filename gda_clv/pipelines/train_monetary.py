"""``gda-clv train-monetary``: tune, fit, log and register the Gamma-Gamma spend model.

Fits on ``filtered_cal`` (repeat calibration customers with positive spend), compressed in Spark to distinct
(frequency, monetary value, holdout) tuples; with ``model.frequency.refit_full`` the registered (scoring) model is
refitted on the whole period's repeat customers, as the frequency model is, and the calibration fit's estimates stay
in the summary (``calibration_fit``) and the metrics (``cal_*``). Checks the model's independence assumption
(correlation of frequency and monetary value), tunes the penalizer on the holdout spend error and, with the
frequency model of the same pipeline run (else the ``@champion``) loaded from the registry, checks predicted vs
actual holdout revenue of all calibration customers in Spark. Registers the model and gates it against ``@champion``;
aliases move after the run.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.data import rfm
from gda_clv.errors import DataError
from gda_clv.models._types import FloatArray
from gda_clv.models.compress import compress
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.models.tuning import tune_monetary, weighted_loss
from gda_clv.pipelines import _training
from gda_clv.utils import registry
from gda_clv.utils.pipelines.pyfunc import unwrap_model

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext

STEP = "train-monetary"
FIT_KEYS = ("frequency_cal", "monetary_value_cal")
REVENUE_INPUT = ("frequency_cal", "recency_cal", "T_cal", "monetary_value_cal", "duration_holdout",
                 "frequency_holdout", "monetary_value_holdout")


def weighted_correlation(x: FloatArray, y: FloatArray, weight: FloatArray) -> float:
    """Pearson correlation of x and y over customers (rows weighted by their customer counts)."""
    mx, my = np.average(x, weights=weight), np.average(y, weights=weight)
    cov = np.average((x - mx) * (y - my), weights=weight)
    sx, sy = math.sqrt(np.average((x - mx) ** 2, weights=weight)), math.sqrt(np.average((y - my) ** 2, weights=weight))
    return float(cov / (sx * sy)) if sx > 0 and sy > 0 else math.nan


def spend_metrics(model: GammaGammaModel, groups: pd.DataFrame, loss: str) -> dict[str, float]:
    """Expected vs actual average holdout spend of repeat customers who bought in the holdout period."""
    scored = groups[(groups["frequency_holdout"] > 0) & (groups["monetary_value_holdout"] > 0)]
    if scored.empty:
        return {}
    predicted = model.expected_average_spend(scored["frequency_cal"], scored["monetary_value_cal"])
    actual, weight = scored["monetary_value_holdout"].to_numpy(float), scored["weight"].to_numpy(float)
    return {
        "holdout_spend_customers": float(weight.sum()),
        "holdout_spend_actual_mean": _training.weighted_mean(actual, weight),
        "holdout_spend_predicted_mean": _training.weighted_mean(predicted, weight),
        f"holdout_spend_{loss}": weighted_loss(predicted, actual, weight, loss),
    }


def full_period_fit(features: DataFrame, penalizer: float, q_constraint: bool) -> GammaGammaModel:
    """The scoring model: Gamma-Gamma refitted with the tuned penalizer on the whole period's repeat customers.

    Scoring uses the full-period frequency model (``model.frequency.refit_full``); its spend model is refitted on
    the same period the same way, so both models have seen the same purchases.
    """
    repeat = features.where((F.col("frequency") > 0) & (F.col("monetary_value") > 0))
    groups = _training.to_pandas_groups(
        repeat.groupBy("frequency", "monetary_value").agg(F.count(F.lit(1)).alias("weight")),
        ("frequency", "monetary_value"),
    )
    return GammaGammaModel(penalizer, q_constraint).fit(groups["frequency"], groups["monetary_value"], groups["weight"])


def frequency_model_for_run(ctx: JobContext) -> tuple[Any, dict[str, str]]:
    """The frequency model registered in this job run (tag ``gda_clv_job_run_id``), else ``@champion``.

    In the clv-training job train-monetary depends on train-frequency, so the version that task registered (in
    another process) is found by the job run id both were given; a standalone run uses ``@champion``.
    """
    name = ctx.registered_model_name("frequency")
    run_first = f"`gda-clv train-frequency --env {ctx.env}`"
    same_run = [
        v for v in MlflowClient().search_model_versions(f"name='{name}'")
        if v.tags.get(_training.JOB_RUN_TAG) == ctx.job_run_id
    ]
    if same_run:
        version = max(same_run, key=lambda v: int(v.version)).version
        loaded, found = registry.load_registered_model(name, version=version, run_first=run_first)
        source = f"job run {ctx.job_run_id}"
    else:
        loaded, found = registry.load_registered_model(name, run_first=run_first)
        source = f"@{registry.CHAMPION}"
        ctx.logger.info("%s: no frequency model of job run %s; checking revenue with %s v%s",
                        STEP, ctx.job_run_id, name, found.version)
    return unwrap_model(loaded), {"name": name, "version": str(found.version), "source": source}


def revenue_check(features: DataFrame, frequency_model: Any, model: GammaGammaModel) -> dict[str, float]:
    """Predicted vs actual holdout revenue of all calibration customers (no customer reaches the driver).

    Spark aggregates the calibration customers to their distinct frequency-model inputs (frequency, recency, T,
    holdout duration) with the sums that the revenue totals and squared errors need; the models score those groups
    on the driver. Exact, because the Gamma-Gamma expected spend is linear in the observed mean spend m:
    predicted = P * (A + B m) with P the expected holdout purchases and A, B depending on the frequency only.
    """
    value = {c: F.coalesce(F.col(c).cast("double"), F.lit(0.0)) for c in REVENUE_INPUT}
    actual, m = value["frequency_holdout"] * value["monetary_value_holdout"], value["monetary_value_cal"]
    keys = ("frequency_cal", "recency_cal", "T_cal", "duration_holdout")
    groups = rfm.calibration_rows(features).groupBy(*[value[k].alias(k) for k in keys]).agg(
        F.count(F.lit(1)).alias("n"), F.sum(m).alias("m"), F.sum(m * m).alias("mm"), F.sum(actual).alias("a"),
        F.sum(actual * actual).alias("aa"), F.sum(actual * m).alias("am"),
    ).toPandas()
    f = groups["frequency_cal"].to_numpy(float)
    purchases = np.asarray(frequency_model.expected_purchases(
        groups["duration_holdout"].to_numpy(float), f, groups["recency_cal"].to_numpy(float),
        groups["T_cal"].to_numpy(float)), dtype=float)
    base = model.expected_average_spend(f, np.zeros_like(f))
    slope = model.expected_average_spend(f, np.ones_like(f)) - base
    n, s_m, s_mm, s_a, s_aa, s_am = (groups[c].to_numpy(float) for c in ("n", "m", "mm", "a", "aa", "am"))
    predicted = purchases * (base * n + slope * s_m)
    # sum of (P (A + B m) - actual)^2 over each group's customers, from the group's sums
    sse = (purchases**2 * (base**2 * n + 2 * base * slope * s_m + slope**2 * s_mm)
           - 2 * purchases * (base * s_a + slope * s_am) + s_aa)
    customers, actual_total, predicted_total = float(n.sum()), float(s_a.sum()), float(predicted.sum())
    return {
        "holdout_revenue_customers": customers,
        "holdout_revenue_actual_total": actual_total,
        "holdout_revenue_predicted_total": predicted_total,
        "holdout_revenue_actual_per_customer": actual_total / customers,
        "holdout_revenue_predicted_per_customer": predicted_total / customers,
        "holdout_revenue_rmse_per_customer": math.sqrt(max(float(sse.sum()), 0.0) / customers),
    }


def run(ctx: JobContext, as_of: str | dt.date | None = None) -> dict[str, Any]:
    """Train, check, log and register the Gamma-Gamma model on the features of ``as_of``; returns the summary.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).

    Raises ``DataError`` when ``as_of`` has no repeat customer with positive spend.
    """
    cfg = ctx.config.model.monetary
    tuning = cfg.tuning
    ctx.require_mlflow()
    with ctx.phase(f"{STEP}: read and compress filtered_cal"):
        data = _training.features_at(ctx, as_of)
        groups = _training.to_pandas_groups(rfm.monetary_groups(data.features), rfm.MONETARY_GROUP_KEYS)
        if groups.empty:
            raise DataError(
                f"No repeat customer with positive spend in '{ctx.feature_table.full_name}' (as_of {data.as_of}); "
                "the Gamma-Gamma model needs filtered_cal rows (frequency_cal > 0, monetary_value_cal > 0)."
            )
    with mlflow.start_run(run_name=f"{STEP} {ctx.run_id}") as run:
        registry.set_run_tags(_training.run_tags(ctx, STEP))
        weight = groups["weight"].to_numpy(float)
        correlation = weighted_correlation(groups["frequency_cal"].to_numpy(float),
                                           groups["monetary_value_cal"].to_numpy(float), weight)
        correlation_warning = abs(correlation) > cfg.correlation_warn_threshold
        if correlation_warning:
            ctx.logger.warning(
                "%s: frequency and monetary value correlate (%.3f > model.monetary.correlation_warn_threshold %.2f); "
                "the Gamma-Gamma independence assumption is doubtful",
                STEP, correlation, cfg.correlation_warn_threshold,
            )
        stats = {"n_customers": float(weight.sum()),
                 "n_distinct_tuples": float(len(compress(groups[[*FIT_KEYS, "weight"]], list(FIT_KEYS))))}
        mlflow.log_metrics({**stats, "frequency_monetary_correlation": correlation})
        registry.set_run_tags({"correlation_warning": str(correlation_warning)})
        mlflow.log_params({
            "as_of": str(data.as_of), "calibration_end": str(data.calibration_end), "q_constraint": cfg.q_constraint,
            "tuning_max_evals": tuning.max_evals, "tuning_loss": tuning.loss, "model_type": "gamma_gamma",
            "tuning_penalizer_range": f"{tuning.penalizer_min:g}..{tuning.penalizer_max:g}",
        })
        with ctx.phase(f"{STEP}: tune ({tuning.max_evals} evals)"):
            tuned = tune_monetary(
                groups, (tuning.penalizer_min, tuning.penalizer_max), tuning.max_evals, loss=tuning.loss,
                seed=tuning.seed, trials=_training.make_trials(ctx, tuning), backend=tuning.backend,
                q_constraint=cfg.q_constraint, default_penalizer=cfg.penalizer,
            )
            _training.log_trials(tuned.trials)
        mlflow.log_param("penalizer", tuned.penalizer)
        with ctx.phase(f"{STEP}: fit Gamma-Gamma (penalizer {tuned.penalizer:.3g})"):
            tuples = compress(groups[[*FIT_KEYS, "weight"]], list(FIT_KEYS))
            cal_model = GammaGammaModel(tuned.penalizer, cfg.q_constraint).fit(
                tuples["frequency_cal"], tuples["monetary_value_cal"], tuples["weight"]
            )
            refit_full = ctx.config.model.frequency.refit_full
            model = full_period_fit(data.features, tuned.penalizer, cfg.q_constraint) if refit_full else cal_model
        # The honest holdout checks are the calibration fit's; the scoring model is compared with the champion.
        spend = spend_metrics(cal_model, groups, tuning.loss)
        gate_spend = spend_metrics(model, groups, tuning.loss)
        with ctx.phase(f"{STEP}: holdout revenue check with the frequency model"):
            frequency_model, frequency_ref = frequency_model_for_run(ctx)
            revenue = revenue_check(data.features, frequency_model, cal_model)
        mlflow.log_metrics({**_training.fit_metrics(model), **_training.fit_metrics(cal_model, "cal_"), **spend,
                            **revenue})
        registry.set_run_tags({"frequency_model": f"{frequency_ref['name']}/{frequency_ref['version']}"})
        mlflow.log_dict({"scoring": model.to_dict(), "calibration": cal_model.to_dict()}, "fits.json")
        metric = f"holdout_spend_{tuning.loss}"
        with ctx.phase(f"{STEP}: log, register and gate"):
            example = groups[list(FIT_KEYS)].head(5).set_axis(["frequency", "monetary_value"], axis=1)
            candidate = _training.register_and_decide(
                ctx, "monetary", model, example, gate_spend.get(metric, math.inf),
                lambda champion: spend_metrics(champion, groups, tuning.loss).get(metric, math.inf), metric,
            )
    with ctx.phase(f"{STEP}: promote"):  # only once the run and its tags are complete
        registered = _training.promote(ctx, candidate)
    ctx.logger.info(
        "%s: p=%.4g q=%.4g v=%.4g; holdout revenue actual %.2f vs predicted %.2f; %s v%s aliases %s", STEP,
        *model.param_array(), revenue["holdout_revenue_actual_total"], revenue["holdout_revenue_predicted_total"],
        registered["registered_name"], registered["version"], registered["aliases"],
    )
    return {
        "type": "gamma_gamma",
        "params": dict(model.params_),
        "standard_errors": dict(model.standard_errors_),
        "log_likelihood": model.log_likelihood_,
        "penalizer": tuned.penalizer,
        "penalizer_used": model.penalizer_used_,
        "q_constraint": cfg.q_constraint,
        "converged": model.converged_,
        "refit_full": refit_full,
        "calibration_fit": {"params": dict(cal_model.params_), "log_likelihood": cal_model.log_likelihood_},
        "correlation": {"frequency_monetary": correlation, "threshold": cfg.correlation_warn_threshold,
                        "warning": correlation_warning},
        "holdout": {**spend, **revenue},
        "gate_holdout": gate_spend,
        "frequency_model": frequency_ref,
        "tuning": {"tuned": tuned.tuned, "loss": tuned.loss, "trials": len(tuned.trials)},
        "data": {"as_of": str(data.as_of), "calibration_end": str(data.calibration_end), **stats},
        "mlflow_run_id": run.info.run_id,
        "experiment": ctx.mlflow_experiment,
        **registered,
    }
