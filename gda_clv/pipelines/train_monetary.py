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
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.data import rfm
from gda_clv.models._types import FloatArray
from gda_clv.models.compress import compress
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.models.tuning import TuningResult, tune_monetary, weighted_loss
from gda_clv.pipelines import _training
from gda_clv.pipelines.summaries import FrequencyModelRef, Holdout, TrainMonetarySummary
from gda_clv.pipelines.trainer import Fits, ModelFamily, Trained, train
from gda_clv.utils import registry
from gda_clv.utils.pipelines.pyfunc import unwrap_model

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext
    from gda_clv.utils.config_schema import MonetaryModelConfig, TuningConfig

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


def frequency_model_for_run(ctx: JobContext) -> tuple[FrequencyModel, FrequencyModelRef]:
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
    version = str(found.version)
    model = FrequencyModel.checked(unwrap_model(loaded), f"{name} v{version}")
    return model, {"name": name, "version": version, "source": source}


def revenue_check(features: DataFrame, frequency_model: FrequencyModel, model: GammaGammaModel) -> dict[str, float]:
    """Predicted vs actual holdout revenue of all calibration customers (no customer reaches the driver).

    Spark aggregates the calibration customers to their distinct frequency-model inputs (frequency, recency, T,
    holdout duration) with the sums that the revenue totals and squared errors need; the models score those groups
    on the driver. Exact, because the Gamma-Gamma expected spend is linear in the observed mean spend m:
    predicted = P * (A + B m) with P the expected holdout purchases and (A, B) = ``GammaGammaModel.spend_line``.
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
    base, slope = model.spend_line(f)
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


@dataclass(frozen=True)
class RevenueCheck:
    """Holdout revenue of all calibration customers, checked with the frequency model of this pipeline run."""

    revenue: dict[str, float]
    frequency_model: FrequencyModelRef


class MonetaryFamily(ModelFamily[GammaGammaModel, RevenueCheck, TrainMonetarySummary]):
    """The Gamma-Gamma model in the training skeleton: filtered_cal groups and their frequency-spend correlation."""

    step, kind, reads, group_keys = STEP, "monetary", "filtered_cal", rfm.MONETARY_GROUP_KEYS

    @property
    def cfg(self) -> MonetaryModelConfig:
        """``model.monetary``."""
        return self.ctx.config.model.monetary

    @cached_property
    def correlation(self) -> float:
        """Correlation of frequency and monetary value over the calibration customers (the model assumes none)."""
        groups = self.groups
        return weighted_correlation(groups["frequency_cal"].to_numpy(float),
                                    groups["monetary_value_cal"].to_numpy(float), groups["weight"].to_numpy(float))

    @property
    def correlation_warning(self) -> bool:
        """Whether the correlation is above ``model.monetary.correlation_warn_threshold``."""
        return abs(self.correlation) > self.cfg.correlation_warn_threshold

    def calibration_groups(self, features: DataFrame) -> DataFrame:
        """Distinct filtered_cal (frequency, monetary value, holdout) tuples."""
        return rfm.monetary_groups(features)

    def nothing_to_train(self) -> str:
        """No repeat customer with positive spend."""
        return (f"No repeat customer with positive spend in '{self.ctx.feature_table.full_name}' (as_of "
                f"{self.data.as_of}); the Gamma-Gamma model needs filtered_cal rows (frequency_cal > 0, "
                "monetary_value_cal > 0).")

    @property
    def tuning(self) -> TuningConfig:
        """``model.monetary.tuning``."""
        return self.cfg.tuning

    @property
    def gate_metric(self) -> str:
        """``holdout_spend_<loss>``."""
        return f"holdout_spend_{self.tuning.loss}"

    def log_inputs(self) -> dict[str, float]:
        """Data counts and the correlation as metrics (a warning tag above the threshold); the search as params."""
        if self.correlation_warning:
            self.ctx.logger.warning(
                "%s: frequency and monetary value correlate (%.3f > model.monetary.correlation_warn_threshold %.2f); "
                "the Gamma-Gamma independence assumption is doubtful",
                STEP, self.correlation, self.cfg.correlation_warn_threshold,
            )
        groups = self.groups
        stats = {"n_customers": float(groups["weight"].sum()),
                 "n_distinct_tuples": float(len(compress(groups[[*FIT_KEYS, "weight"]], list(FIT_KEYS))))}
        mlflow.log_metrics({**stats, "frequency_monetary_correlation": self.correlation})
        registry.set_run_tags({"correlation_warning": str(self.correlation_warning)})
        tuning = self.tuning
        mlflow.log_params({
            "as_of": str(self.data.as_of), "calibration_end": str(self.data.calibration_end),
            "q_constraint": self.cfg.q_constraint, "tuning_max_evals": tuning.max_evals, "tuning_loss": tuning.loss,
            "tuning_penalizer_range": f"{tuning.penalizer_min:g}..{tuning.penalizer_max:g}",
        })
        return stats

    def tune(self, trials: object | None) -> TuningResult:
        """The penalizer on the holdout spend error."""
        tuning = self.tuning
        return tune_monetary(
            self.groups, (tuning.penalizer_min, tuning.penalizer_max), tuning.max_evals, loss=tuning.loss,
            seed=tuning.seed, trials=trials, backend=tuning.backend, q_constraint=self.cfg.q_constraint,
            default_penalizer=self.cfg.penalizer,
        )

    def fit_label(self, tuned: TuningResult) -> str:
        """``Gamma-Gamma``."""
        return GammaGammaModel.label

    def fit(self, tuned: TuningResult) -> Fits[GammaGammaModel]:
        """The calibration fit and, with ``model.frequency.refit_full``, the full-period refit."""
        tuples = compress(self.groups[[*FIT_KEYS, "weight"]], list(FIT_KEYS))
        calibration = GammaGammaModel(tuned.penalizer, self.cfg.q_constraint).fit(
            tuples["frequency_cal"], tuples["monetary_value_cal"], tuples["weight"]
        )
        if not self.ctx.config.model.frequency.refit_full:
            return Fits(calibration, calibration)
        return Fits(calibration, full_period_fit(self.data.features, tuned.penalizer, self.cfg.q_constraint))

    def holdout(self, model: GammaGammaModel) -> Holdout:
        """Expected vs actual average holdout spend."""
        return spend_metrics(model, self.groups, self.tuning.loss)

    def check(self, fits: Fits[GammaGammaModel], holdout: Holdout, gate_holdout: Holdout) -> RevenueCheck:
        """The holdout revenue check with the frequency model of this run; logs it and the spend metrics."""
        with self.ctx.phase(f"{STEP}: holdout revenue check with the frequency model"):
            frequency_model, frequency_ref = frequency_model_for_run(self.ctx)
            revenue = revenue_check(self.data.features, frequency_model, fits.calibration)
        mlflow.log_metrics({**holdout, **revenue})
        registry.set_run_tags({"frequency_model": f"{frequency_ref['name']}/{frequency_ref['version']}"})
        return RevenueCheck(revenue, frequency_ref)

    def input_example(self) -> pd.DataFrame:
        """Five calibration (frequency, monetary value) rows under the scoring column names."""
        return self.groups[list(FIT_KEYS)].head(5).set_axis(["frequency", "monetary_value"], axis=1)

    def summary(self, trained: Trained[GammaGammaModel, RevenueCheck]) -> TrainMonetarySummary:
        """The model, the correlation check, both holdout checks, tuning, data, run and registry."""
        return {
            **trained.model_summary(),
            "q_constraint": self.cfg.q_constraint,
            "converged": trained.fits.scoring.converged_,
            "refit_full": self.ctx.config.model.frequency.refit_full,
            "calibration_fit": trained.calibration_summary(),
            "correlation": {"frequency_monetary": self.correlation, "threshold": self.cfg.correlation_warn_threshold,
                            "warning": self.correlation_warning},
            "holdout": {**trained.holdout, **trained.checks.revenue},
            "gate_holdout": trained.gate_holdout,
            "frequency_model": trained.checks.frequency_model,
            **trained.run_summary(),
        }

    def describe(self, trained: Trained[GammaGammaModel, RevenueCheck]) -> str:
        """Estimates and the holdout revenue, actual vs predicted."""
        p, q, v = trained.fits.scoring.param_array()
        revenue = trained.checks.revenue
        return (f"p={p:.4g} q={q:.4g} v={v:.4g}; holdout revenue actual {revenue['holdout_revenue_actual_total']:.2f} "
                f"vs predicted {revenue['holdout_revenue_predicted_total']:.2f}")


def run(ctx: JobContext, as_of: str | dt.date | None = None) -> TrainMonetarySummary:
    """Train, check, log and register the Gamma-Gamma model on the features of ``as_of``; returns the summary.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).

    Raises ``DataError`` when ``as_of`` has no repeat customer with positive spend.
    """
    return train(ctx, MonetaryFamily, as_of)
