"""``gda-clv train-frequency``: tune, fit, log and register the purchase-frequency model (BG/NBD by default).

Reads the feature rows of the latest as-of; Spark compresses them to distinct (frequency, recency, T, holdout)
tuples with customer counts, and only those reach the driver. hyperopt picks the penalizer (and optionally the
model type) on the holdout error; the chosen configuration is fitted on the calibration period (holdout check,
plots) and, with ``model.frequency.refit_full``, refitted on the full-period summary for scoring. The scoring
model is logged as a pyfunc model, registered and gated against ``@champion``; aliases move after the run ended.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from gda_clv.data import rfm
from gda_clv.errors import DataError
from gda_clv.models import plots
from gda_clv.models._types import FloatArray
from gda_clv.models.compress import compress
from gda_clv.models.frequency import FrequencyModel, make_frequency_model
from gda_clv.models.tuning import tune_frequency, weighted_loss
from gda_clv.pipelines import _training
from gda_clv.utils import registry

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext

STEP = "train-frequency"
CAL_KEYS = ("frequency_cal", "recency_cal", "T_cal")
FULL_KEYS = ("frequency", "recency", "T")


def holdout_predictions(model: FrequencyModel, groups: pd.DataFrame) -> FloatArray:
    """Expected holdout purchases of each calibration group under ``model``."""
    f, r, t, d = (groups[c].to_numpy(float) for c in (*CAL_KEYS, "duration_holdout"))
    return model.expected_purchases(d, f, r, t)


def holdout_metrics(model: FrequencyModel, groups: pd.DataFrame, loss: str) -> dict[str, float]:
    """Total actual vs predicted holdout repeat transactions, and the per-customer error (``holdout_<loss>``)."""
    predicted = holdout_predictions(model, groups)
    actual, weight = groups["frequency_holdout"].to_numpy(float), groups["weight"].to_numpy(float)
    total_actual, total_predicted = float(actual @ weight), float(predicted @ weight)
    return {
        "holdout_actual_purchases": total_actual,
        "holdout_predicted_purchases": total_predicted,
        "holdout_purchases_error_pct": 100.0 * (total_predicted - total_actual) / total_actual
        if total_actual
        else float("nan"),
        f"holdout_{loss}": weighted_loss(predicted, actual, weight, loss),
    }


def fit(model_type: str, penalizer: float, groups: pd.DataFrame, keys: tuple[str, ...]) -> FrequencyModel:
    """Fit on the distinct ``keys`` tuples of ``groups`` with their customer counts as weights."""
    tuples = compress(groups[[*keys, "weight"]], list(keys))
    frequency, recency, T = (tuples[k] for k in keys)
    return make_frequency_model(model_type, penalizer).fit(frequency, recency, T, tuples["weight"])


def data_stats(cal: pd.DataFrame, full: pd.DataFrame) -> dict[str, float]:
    """Customer and distinct-tuple counts of the calibration and full-period groups, logged as MLflow metrics."""
    weight = cal["weight"]
    return {
        "n_customers": float(weight.sum()),
        "n_repeat_customers": float(weight[cal["frequency_cal"] > 0].sum()),
        "n_distinct_tuples": float(len(compress(cal[[*CAL_KEYS, "weight"]], list(CAL_KEYS)))),
        "n_customers_full": float(full["weight"].sum()) if len(full) else 0.0,
        "n_distinct_tuples_full": float(len(full)),
    }


def log_plots(model: FrequencyModel, cal_model: FrequencyModel, groups: pd.DataFrame, fitted_on: pd.DataFrame) -> None:
    """The four diagnostic plots as artifacts under ``plots/``; the matrices span the data ``model`` was fit on."""
    predicted = holdout_predictions(cal_model, groups)
    args = (groups["frequency_cal"], groups["frequency_holdout"], predicted, groups["weight"])
    _training.log_figure(plots.plot_calibration_vs_holdout(*args), "plots/calibration_vs_holdout.png")
    _training.log_figure(plots.plot_holdout_by_frequency_bucket(*args), "plots/holdout_by_frequency_bucket.png")
    frequency, T = fitted_on.iloc[:, 0], fitted_on.iloc[:, 2]
    max_t = float(T.max())
    matrix_args = (model, max_t, int(frequency.max()), int(np.ceil(max_t)))
    _training.log_figure(plots.plot_frequency_recency_matrix(*matrix_args), "plots/frequency_recency_matrix.png")
    _training.log_figure(plots.plot_probability_alive_matrix(*matrix_args), "plots/probability_alive_matrix.png")


def run(ctx: JobContext, as_of: str | dt.date | None = None) -> dict[str, Any]:
    """Train, log and register the frequency model on the features of ``as_of``; returns the step summary.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).

    Raises ``DataError`` when no customer of ``as_of`` has a calibration history.
    """
    cfg = ctx.config.model.frequency
    tuning = cfg.tuning
    ctx.require_mlflow()
    with ctx.phase(f"{STEP}: read and compress features"):
        data = _training.features_at(ctx, as_of)
        groups = _training.to_pandas_groups(rfm.frequency_groups(data.features), rfm.FREQUENCY_GROUP_KEYS)
        if groups.empty:
            raise DataError(
                f"No customer of '{ctx.feature_table.full_name}' (as_of {data.as_of}) has a calibration history; "
                "check data.calibration_end / data.holdout_days and rerun prepare."
            )
        full_groups = _training.to_pandas_groups(
            data.features.groupBy(*FULL_KEYS).agg(F.count(F.lit(1)).alias("weight")), FULL_KEYS
        )
    with mlflow.start_run(run_name=f"{STEP} {ctx.run_id}") as run:
        registry.set_run_tags(_training.run_tags(ctx, STEP))
        stats = data_stats(groups, full_groups)
        mlflow.log_metrics(stats)
        mlflow.log_params({
            "as_of": str(data.as_of), "calibration_end": str(data.calibration_end),
            "freq": ctx.config.data.freq, "freq_multiplier": ctx.config.data.freq_multiplier,
            "tuning_max_evals": tuning.max_evals, "tuning_types": ",".join(tuning.types), "tuning_loss": tuning.loss,
            "tuning_penalizer_range": f"{tuning.penalizer_min:g}..{tuning.penalizer_max:g}",
            "refit_full": cfg.refit_full,
        })
        with ctx.phase(f"{STEP}: tune ({tuning.max_evals} evals)"):
            tuned = tune_frequency(
                groups, tuning.types, (tuning.penalizer_min, tuning.penalizer_max), tuning.max_evals,
                loss=tuning.loss, seed=tuning.seed, trials=_training.make_trials(ctx, tuning), backend=tuning.backend,
                default_type=cfg.type, default_penalizer=cfg.penalizer,
            )
            _training.log_trials(tuned.trials)
        mlflow.log_params({"model_type": tuned.type, "penalizer": tuned.penalizer})
        with ctx.phase(f"{STEP}: fit {tuned.type} (penalizer {tuned.penalizer:.3g})"):
            cal_model = fit(tuned.type, tuned.penalizer, groups, CAL_KEYS)
            model = fit(tuned.type, tuned.penalizer, full_groups, FULL_KEYS) if cfg.refit_full else cal_model
        # The honest holdout check is the calibration fit's; the scoring model (refitted on the full period, which
        # includes the holdout) is scored on the same holdout only to compare it like for like with the champion.
        holdout = holdout_metrics(cal_model, groups, tuning.loss)
        gate_holdout = holdout_metrics(model, groups, tuning.loss)
        mlflow.log_metrics({**_training.fit_metrics(model), **_training.fit_metrics(cal_model, "cal_"),
                            **{f"cal_{k}": v for k, v in holdout.items()}, **gate_holdout})
        if cfg.refit_full:
            mlflow.log_metrics(_training.fit_metrics(model, "full_"))
        mlflow.log_dict({"scoring": model.to_dict(), "calibration": cal_model.to_dict()}, "fits.json")
        with ctx.phase(f"{STEP}: plots"):
            log_plots(model, cal_model, groups, full_groups[list(FULL_KEYS)] if cfg.refit_full else groups)
        metric = f"holdout_{tuning.loss}"
        with ctx.phase(f"{STEP}: log, register and gate"):
            example = groups[list(CAL_KEYS)].head(5).set_axis(list(FULL_KEYS), axis=1)
            candidate = _training.register_and_decide(
                ctx, "frequency", model, example, gate_holdout[metric],
                lambda champion: holdout_metrics(champion, groups, tuning.loss)[metric], metric,
            )
    with ctx.phase(f"{STEP}: promote"):  # only once the run and its tags are complete
        registered = _training.promote(ctx, candidate)
    summary = {
        "type": model.type,
        "params": dict(model.params_),
        "standard_errors": dict(model.standard_errors_),
        "log_likelihood": model.log_likelihood_,
        "penalizer": tuned.penalizer,
        "penalizer_used": model.penalizer_used_,
        "converged": model.converged_,
        "refit_full": cfg.refit_full,
        "holdout": holdout,
        "gate_holdout": gate_holdout,
        "calibration_fit": {"params": dict(cal_model.params_), "log_likelihood": cal_model.log_likelihood_},
        "tuning": {"tuned": tuned.tuned, "loss": tuned.loss, "trials": len(tuned.trials)},
        "data": {"as_of": str(data.as_of), "calibration_end": str(data.calibration_end), **stats},
        "mlflow_run_id": run.info.run_id,
        "experiment": ctx.mlflow_experiment,
        **registered,
    }
    ctx.logger.info(
        "%s: %s %s; holdout purchases actual %.0f vs predicted %.1f (calibration fit); %s v%s aliases %s",
        STEP, model.type, {k: round(v, 4) for k, v in model.params_.items()}, holdout["holdout_actual_purchases"],
        holdout["holdout_predicted_purchases"], registered["registered_name"], registered["version"],
        registered["aliases"],
    )
    return summary
