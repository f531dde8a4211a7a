"""``gda-clv train-frequency``: tune, fit, log and register the purchase-frequency model (BG/NBD by default).

Reads the feature rows of the latest as-of; Spark compresses them to distinct (frequency, recency, T, holdout)
tuples with customer counts, and only those reach the driver. hyperopt picks the penalizer (and optionally the
model type) on the holdout error; the chosen configuration is fitted on the calibration period (holdout check,
plots) and, with ``model.frequency.refit_full``, refitted on the full-period summary for scoring. The scoring
model is logged as a pyfunc model, registered and gated against ``@champion``; aliases move after the run ended.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.data import rfm
from gda_clv.models import plots
from gda_clv.models._types import FloatArray
from gda_clv.models.compress import compress
from gda_clv.models.frequency import FrequencyModel, make_frequency_model
from gda_clv.models.tuning import TuningResult, tune_frequency, weighted_loss
from gda_clv.pipelines import _training
from gda_clv.pipelines.summaries import Holdout, TrainFrequencySummary
from gda_clv.pipelines.trainer import Fits, ModelFamily, Trained, train

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext
    from gda_clv.utils.config_schema import FrequencyModelConfig, FrequencyTuningConfig

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


class FrequencyFamily(ModelFamily[FrequencyModel, None, TrainFrequencySummary]):
    """The frequency model in the training skeleton: calibration groups and, for the refit, full-period groups."""

    step, kind, reads, group_keys = STEP, "frequency", "features", rfm.FREQUENCY_GROUP_KEYS

    def __init__(self, ctx: JobContext, data: _training.TrainingData) -> None:
        """The calibration groups and, for the full-period refit, the (frequency, recency, T) groups of ``data``.

        Raises ``DataError`` when no customer of the as_of has a calibration history.
        """
        super().__init__(ctx, data)
        self.full_groups = _training.to_pandas_groups(
            data.features.groupBy(*FULL_KEYS).agg(F.count(F.lit(1)).alias("weight")), FULL_KEYS
        )

    def calibration_groups(self, features: DataFrame) -> DataFrame:
        """Distinct (frequency, recency, T, holdout) calibration tuples."""
        return rfm.frequency_groups(features)

    def nothing_to_train(self) -> str:
        """No calibration history."""
        return (f"No customer of '{self.ctx.feature_table.full_name}' (as_of {self.data.as_of}) has a calibration "
                "history; check data.calibration_end / data.holdout_days and rerun prepare.")

    @property
    def cfg(self) -> FrequencyModelConfig:
        """``model.frequency``."""
        return self.ctx.config.model.frequency

    @property
    def tuning(self) -> FrequencyTuningConfig:
        """``model.frequency.tuning``."""
        return self.cfg.tuning

    def log_inputs(self) -> dict[str, float]:
        """Data counts as metrics; the data, time unit and search as params."""
        stats = data_stats(self.groups, self.full_groups)
        mlflow.log_metrics(stats)
        tuning, data = self.tuning, self.ctx.config.data
        mlflow.log_params({
            "as_of": str(self.data.as_of), "calibration_end": str(self.data.calibration_end),
            "freq": data.freq, "freq_multiplier": data.freq_multiplier,
            "tuning_max_evals": tuning.max_evals, "tuning_types": ",".join(tuning.types), "tuning_loss": tuning.loss,
            "tuning_penalizer_range": f"{tuning.penalizer_min:g}..{tuning.penalizer_max:g}",
            "refit_full": self.cfg.refit_full,
        })
        return stats

    def tune(self, trials: object | None) -> TuningResult:
        """Model type and penalizer on the holdout purchase error."""
        tuning = self.tuning
        return tune_frequency(
            self.groups, tuning.types, (tuning.penalizer_min, tuning.penalizer_max), tuning.max_evals,
            loss=tuning.loss, seed=tuning.seed, trials=trials, backend=tuning.backend,
            default_type=self.cfg.type, default_penalizer=self.cfg.penalizer,
        )

    def fit_label(self, tuned: TuningResult) -> str:
        """The model type (``bgnbd``)."""
        return tuned.type

    def fit(self, tuned: TuningResult) -> Fits[FrequencyModel]:
        """The calibration fit and, with ``refit_full``, the full-period refit."""
        calibration = fit(tuned.type, tuned.penalizer, self.groups, CAL_KEYS)
        full = self.cfg.refit_full
        return Fits(calibration, fit(tuned.type, tuned.penalizer, self.full_groups, FULL_KEYS) if full else calibration)

    def holdout(self, model: FrequencyModel) -> Holdout:
        """Holdout purchases, actual vs predicted, and the per-customer error."""
        return holdout_metrics(model, self.groups, self.tuning.loss)

    def check(self, fits: Fits[FrequencyModel], holdout: Holdout, gate_holdout: Holdout) -> None:
        """Log the holdout metrics (the calibration fit's as ``cal_*``), the full-period fit (``full_*``), plots."""
        full = self.cfg.refit_full
        mlflow.log_metrics({**{f"cal_{k}": v for k, v in holdout.items()}, **gate_holdout,
                            **(_training.fit_metrics(fits.scoring, "full_") if full else {})})
        with self.ctx.phase(f"{STEP}: plots"):
            log_plots(fits.scoring, fits.calibration, self.groups,
                      self.full_groups[list(FULL_KEYS)] if full else self.groups)

    def input_example(self) -> pd.DataFrame:
        """Five calibration (frequency, recency, T) rows under the scoring column names."""
        return self.groups[list(CAL_KEYS)].head(5).set_axis(list(FULL_KEYS), axis=1)

    def summary(self, trained: Trained[FrequencyModel, None]) -> TrainFrequencySummary:
        """The model, both holdout checks, the calibration fit, tuning, data, run and registry."""
        model = trained.fits.scoring
        return {
            **trained.model_summary(),
            "converged": model.converged_,
            "refit_full": self.cfg.refit_full,
            "holdout": trained.holdout,
            "gate_holdout": trained.gate_holdout,
            "calibration_fit": trained.calibration_summary(),
            **trained.run_summary(),
        }

    def describe(self, trained: Trained[FrequencyModel, None]) -> str:
        """Type, rounded estimates and the calibration fit's holdout purchases."""
        model, holdout = trained.fits.scoring, trained.holdout
        return (f"{model.type} {({k: round(v, 4) for k, v in model.params_.items()})}; holdout purchases actual "
                f"{holdout['holdout_actual_purchases']:.0f} vs predicted {holdout['holdout_predicted_purchases']:.1f} "
                "(calibration fit)")


def run(ctx: JobContext, as_of: str | dt.date | None = None) -> TrainFrequencySummary:
    """Train, log and register the frequency model on the features of ``as_of``; returns the step summary.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).

    Raises ``DataError`` when no customer of ``as_of`` has a calibration history.
    """
    return train(ctx, FrequencyFamily, as_of)
