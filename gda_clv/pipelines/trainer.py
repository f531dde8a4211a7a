"""The one training skeleton of train-frequency and train-monetary; a model family plugs in only what differs.

:func:`train` runs: read the features of the as_of and compress them (family) -> MLflow run with the run tags ->
log inputs (family) -> tune (family) -> fit the calibration and scoring models (family) -> holdout metrics of both
(family metric) -> the family's checks, metrics and plots -> ``fits.json`` -> register and gate against
``@champion`` -> end the run -> promote -> one log line -> the family's summary.
"""
from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import mlflow
import pandas as pd
from pyspark.sql import DataFrame

from gda_clv.errors import DataError
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.models.tuning import TuningResult
from gda_clv.pipelines import _training
from gda_clv.pipelines.summaries import (
    FitSummary,
    Holdout,
    ModelFitSummary,
    RegistrySummary,
    TrainingRunSummary,
)
from gda_clv.utils import registry

if TYPE_CHECKING:
    from gda_clv.utils.common import JobContext
    from gda_clv.utils.config_schema import TuningConfig

M = TypeVar("M", bound=FrequencyModel | GammaGammaModel)
C = TypeVar("C")  # what the family's own checks found (None when it has none)
S = TypeVar("S")  # the family's step summary


@dataclass(frozen=True)
class Fits(Generic[M]):
    """The calibration-period fit (its holdout check is the honest one) and the scoring fit that is registered (a
    full-period refit with ``model.frequency.refit_full``, else the calibration fit itself)."""

    calibration: M
    scoring: M


@dataclass(frozen=True)
class Trained(Generic[M, C]):
    """What a training run produced, for the family's summary and log line."""

    data: _training.TrainingData
    stats: dict[str, float]
    tuned: TuningResult
    fits: Fits[M]
    holdout: Holdout  # the calibration fit's
    gate_holdout: Holdout  # the scoring fit's, compared with the champion's
    checks: C
    mlflow_run_id: str
    experiment: str
    registered: RegistrySummary

    def model_summary(self) -> ModelFitSummary:
        """The summary's head: the registered model's type, estimates and penalizer."""
        model = self.fits.scoring
        return {
            "type": self.tuned.type,
            "params": dict(model.params_),
            "standard_errors": dict(model.standard_errors_),
            "log_likelihood": model.log_likelihood_,
            "penalizer": self.tuned.penalizer,
            "penalizer_used": model.penalizer_used_,
        }

    def calibration_summary(self) -> FitSummary:
        """The calibration fit's estimates."""
        return {"params": dict(self.fits.calibration.params_), "log_likelihood": self.fits.calibration.log_likelihood_}

    def run_summary(self) -> TrainingRunSummary:
        """The summary's tail: tuning, data, the MLflow run and the registry outcome."""
        return {
            "tuning": {"tuned": self.tuned.tuned, "loss": self.tuned.loss, "trials": len(self.tuned.trials)},
            "data": {"as_of": str(self.data.as_of), "calibration_end": str(self.data.calibration_end), **self.stats},
            "mlflow_run_id": self.mlflow_run_id,
            "experiment": self.experiment,
            **self.registered,
        }


class ModelFamily(ABC, Generic[M, C, S]):
    """What a model family plugs into :func:`train`; one instance per run holds the groups it trains on."""

    #: the step (``train-frequency``): run name, tags, phase and log labels
    step: ClassVar[str]
    #: the registry kind (``frequency``): registered model name and pyfunc wrapper
    kind: ClassVar[str]
    #: what the read phase compresses, as its label says (``features``)
    reads: ClassVar[str]
    #: the key columns of the compressed calibration groups (their sort order)
    group_keys: ClassVar[tuple[str, ...]]

    def __init__(self, ctx: JobContext, data: _training.TrainingData) -> None:
        """Keep the context and the as_of's feature rows; collect the calibration groups (compressed in Spark).

        Raises ``DataError`` (see :meth:`nothing_to_train`) when there are none.
        """
        self.ctx = ctx
        self.data = data
        self.groups = _training.to_pandas_groups(self.calibration_groups(data.features), self.group_keys)
        if self.groups.empty:
            raise DataError(self.nothing_to_train())

    @abstractmethod
    def calibration_groups(self, features: DataFrame) -> DataFrame:
        """The distinct calibration tuples this family trains on, with their customer counts (``weight``)."""

    @abstractmethod
    def nothing_to_train(self) -> str:
        """The error when no customer of the as_of has what this family trains on: why, and what to change."""

    @property
    @abstractmethod
    def tuning(self) -> TuningConfig:
        """The family's ``model.<family>.tuning`` section."""

    @property
    def gate_metric(self) -> str:
        """The holdout metric the gate compares (``holdout_<loss>``)."""
        return f"holdout_{self.tuning.loss}"

    @abstractmethod
    def log_inputs(self) -> dict[str, float]:
        """Log the run's inputs (params, data metrics, tags); returns the data counts for the summary."""

    @abstractmethod
    def tune(self, trials: object | None) -> TuningResult:
        """Search the configuration on the holdout (``trials``: hyperopt's SparkTrials on Databricks)."""

    @abstractmethod
    def fit_label(self, tuned: TuningResult) -> str:
        """The model's name in the fit phase's label."""

    @abstractmethod
    def fit(self, tuned: TuningResult) -> Fits[M]:
        """Fit the tuned configuration on the calibration period and, if configured, the full period."""

    @abstractmethod
    def holdout(self, model: M) -> Holdout:
        """``model``'s holdout metrics on this run's calibration groups (also applied to the champion)."""

    @abstractmethod
    def check(self, fits: Fits[M], holdout: Holdout, gate_holdout: Holdout) -> C:
        """The family's own checks, metrics and plots, logged in the run; returns what its summary needs."""

    @abstractmethod
    def input_example(self) -> pd.DataFrame:
        """A few rows of the registered model's input (its MLflow signature and example)."""

    @abstractmethod
    def summary(self, trained: Trained[M, C]) -> S:
        """The step summary."""

    @abstractmethod
    def describe(self, trained: Trained[M, C]) -> str:
        """The result in the step's log line (estimates, the holdout check)."""


def train(ctx: JobContext, family: type[ModelFamily[M, C, S]], as_of: str | dt.date | None) -> S:
    """Run the training skeleton for ``family`` on the features of ``as_of``; returns the family's summary.

    ``as_of``: a date, ``"latest"``, or None for ``data.observation_end`` (see ``_training.requested_as_of``).

    Raises ``ConfigError``/``DataError`` when the as_of or its features are missing (``_training.features_at``)
    or the family finds nothing to train on, and ``ModelError`` when no fit converges.
    """
    step = family.step
    ctx.require_mlflow()
    with ctx.phase(f"{step}: read and compress {family.reads}"):
        plan = family(ctx, _training.features_at(ctx, as_of))
    with mlflow.start_run(run_name=f"{step} {ctx.run_id}") as run:
        registry.set_run_tags(_training.run_tags(ctx, step))
        stats = plan.log_inputs()
        with ctx.phase(f"{step}: tune ({plan.tuning.max_evals} evals)"):
            tuned = plan.tune(_training.make_trials(ctx, plan.tuning))
            _training.log_trials(tuned.trials)
        mlflow.log_params({"model_type": tuned.type, "penalizer": tuned.penalizer})
        with ctx.phase(f"{step}: fit {plan.fit_label(tuned)} (penalizer {tuned.penalizer:.3g})"):
            fits = plan.fit(tuned)
        # The honest holdout check is the calibration fit's; the scoring model (refitted on the full period, which
        # includes the holdout) is scored on the same holdout only to compare it like for like with the champion.
        holdout, gate_holdout = plan.holdout(fits.calibration), plan.holdout(fits.scoring)
        mlflow.log_metrics({**_training.fit_metrics(fits.scoring), **_training.fit_metrics(fits.calibration, "cal_")})
        checks = plan.check(fits, holdout, gate_holdout)
        mlflow.log_dict({"scoring": fits.scoring.to_dict(), "calibration": fits.calibration.to_dict()}, "fits.json")
        metric = plan.gate_metric
        with ctx.phase(f"{step}: log, register and gate"):
            candidate = _training.register_and_decide(
                ctx, family.kind, fits.scoring, plan.input_example(), gate_holdout.get(metric, math.inf),
                lambda champion: plan.holdout(champion).get(metric, math.inf), metric,
            )
    with ctx.phase(f"{step}: promote"):  # only once the run and its tags are complete
        registered = _training.promote(ctx, candidate)
    trained = Trained(data=plan.data, stats=stats, tuned=tuned, fits=fits, holdout=holdout, gate_holdout=gate_holdout,
                      checks=checks, mlflow_run_id=run.info.run_id, experiment=ctx.mlflow_experiment,
                      registered=registered)
    ctx.logger.info("%s: %s; %s v%s aliases %s", step, plan.describe(trained), registered["registered_name"],
                    registered["version"], registered["aliases"])
    return plan.summary(trained)
