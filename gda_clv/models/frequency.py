"""Frequency models (BG/NBD, MBG/NBD, Pareto/NBD) behind one small interface.

Every model optimises the same objective as its lifetimes fitter: time is scaled so that the oldest customer
has T = 1, parameters are optimised on the log scale, the log-likelihood is the weighted mean over customers
(weights = customers sharing a (frequency, recency, T) tuple) and the L2 penalizer acts on the scaled
parameters. Fitting on compressed tuples therefore gives the estimates of a plain fit on all customers.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from gda_clv.errors import ConfigError, ModelError
from gda_clv.models._checks import check_rfm
from gda_clv.models._fitting import (
    fit_state,
    fit_with_retries,
    init_fit_state,
    minimize_smooth,
    restore_fit_state,
    standard_errors,
    wsum,
)
from gda_clv.models._lifetimes import generate_data, lifetimes, quiet

# objective(log_params, penalizer) -> (per-customer penalized negative log-likelihood, gradient)
Objective = Callable[[np.ndarray, float], tuple[float, np.ndarray]]

FIX_HINT = (
    "Try a larger model.frequency.penalizer (e.g. 0.01) or another model.frequency.type "
    "(bgnbd, mbgnbd, pareto_nbd), and check that the calibration period holds enough repeat purchases."
)


class FrequencyModel(ABC):
    """A fitted-or-not frequency model: fit / params_ / expected purchases / P(alive) / to_dict / to_lifetimes."""

    type: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    #: indices of parameters measured in time units (rescaled with T like lifetimes does)
    time_params: ClassVar[tuple[int, ...]]
    #: log-parameter start points, tried in order (see gda_clv.models._fitting for the retry policy)
    starts: ClassVar[tuple[tuple[float, ...], ...]]
    lifetimes_class: ClassVar[str]
    lifetimes_generator: ClassVar[str]

    def __init__(self, penalizer: float = 0.0) -> None:
        init_fit_state(self, penalizer, "model.frequency.penalizer")
        self.n_tuples_ = 0

    # ---- fitting -------------------------------------------------------------------------------------------
    @abstractmethod
    def _objective(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray) -> Objective:
        """The lifetimes objective on scaled time, as a function of (log params, penalizer)."""

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
    ) -> FrequencyModel:
        """Fit on per-customer or compressed data (``weights`` = customers sharing the tuple); returns self.

        Raises ModelError naming every attempt when no attempt of the retry policy converges.
        """
        f, r, t, w = check_rfm(frequency, recency, T, weights)
        scale = 1.0 / t.max()
        objective = self._objective(f, r * scale, t * scale, w)
        outcome = fit_with_retries(
            lambda x0, pen: minimize_smooth(lambda x: objective(x, pen), x0),
            [np.asarray(s, dtype=float) for s in self.starts],
            self.penalizer,
            what=f"{self.type} (model.frequency.type)",
            fix=FIX_HINT,
        )
        params = np.exp(outcome.x)
        params[list(self.time_params)] /= scale
        ses = standard_errors(params, outcome.hessian, w.sum())
        self.params_ = {n: float(v) for n, v in zip(self.param_names, params, strict=True)}
        self.standard_errors_ = {n: float(v) for n, v in zip(self.param_names, ses, strict=True)}
        # lifetimes' likelihood is in scaled time; each of the x purchase times contributes a 1/scale Jacobian.
        self.log_likelihood_ = float(-objective(outcome.x, 0.0)[0] * w.sum() + wsum(w, f) * np.log(scale))
        self.converged_ = True
        self.fit_attempts_ = outcome.attempts
        self.penalizer_used_ = outcome.penalizer
        self.n_customers_ = float(w.sum())
        self.n_tuples_ = len(f)
        return self

    # ---- predictions (lifetimes' formulas; subclasses may vectorise them in numpy) ----------------------------
    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Conditional expected number of repeat purchases in the next ``t`` periods."""
        fitter = self.to_lifetimes()
        with quiet(), np.errstate(all="ignore"):
            out = fitter.conditional_expected_number_of_purchases_up_to_time(
                t, np.asarray(frequency, dtype=float), np.asarray(recency, dtype=float), np.asarray(T, dtype=float)
            )
        return np.asarray(out, dtype=float)

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Probability that a customer with this history is still active."""
        fitter = self.to_lifetimes()
        with quiet(), np.errstate(all="ignore"):
            out = fitter.conditional_probability_alive(
                np.asarray(frequency, dtype=float), np.asarray(recency, dtype=float), np.asarray(T, dtype=float)
            )
        return np.asarray(out, dtype=float)

    # ---- persistence and lifetimes interop ----------------------------------------------------------------
    def _require_fitted(self) -> None:
        if not self.params_:
            raise ModelError(f"The {self.type} model has no parameters yet: call fit() or load it with from_dict().")

    def param_array(self) -> np.ndarray:
        """The fitted parameters in ``param_names`` order."""
        self._require_fitted()
        return np.array([self.params_[n] for n in self.param_names])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (NaN standard errors become None)."""
        return {"type": self.type, **fit_state(self), "n_tuples": self.n_tuples_}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> FrequencyModel:
        """Rebuild a model written by ``to_dict``.

        Raises ``ModelError`` when the saved type is unknown or its parameters are missing.
        """
        cls = model_classes().get(d.get("type", ""))
        if cls is None:
            raise ModelError(f"Saved frequency model has unknown type {d.get('type')!r}; expected one of {TYPES}.")
        model = cls(d.get("penalizer", 0.0))
        missing = [n for n in cls.param_names if n not in d.get("params", {})]
        if missing:
            raise ModelError(f"Saved {cls.type} model lacks parameters {missing}; retrain it.")
        restore_fit_state(model, d, cls.param_names)
        model.n_tuples_ = int(d.get("n_tuples", 0))
        return model

    def to_lifetimes(
        self, frequency: ArrayLike | None = None, recency: ArrayLike | None = None, T: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> Any:
        """A lifetimes fitter carrying these parameters, usable by lifetimes' plotting and CLV functions.

        Pass the (calibration) data to also set ``data`` and ``generate_new_data``, which some plots need.
        """
        self._require_fitted()
        fitter = getattr(lifetimes, self.lifetimes_class)(penalizer_coef=self.penalizer_used_)
        fitter.params_ = pd.Series(self.param_array(), index=list(self.param_names))
        fitter.standard_errors_ = pd.Series(
            [self.standard_errors_.get(n, math.nan) for n in self.param_names], index=list(self.param_names)
        )
        fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
        if frequency is not None and recency is not None and T is not None:
            t = np.asarray(T, dtype=float)
            w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
            fitter.data = pd.DataFrame(
                {"frequency": np.asarray(frequency, dtype=int), "recency": np.asarray(recency, dtype=float),
                 "T": t, "weights": w}
            )
            generator = getattr(generate_data, self.lifetimes_generator)
            params = self.param_array()
            fitter.generate_new_data = lambda size=1: generator(t, *params, size=size)
        return fitter

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()) or "not fitted"
        return f"<{type(self).__name__} {self.type}: {shown}>"


TYPES = ("bgnbd", "mbgnbd", "pareto_nbd")


def model_classes() -> dict[str, type[FrequencyModel]]:
    """The frequency model classes by their ``type``."""
    from gda_clv.models.bgnbd import BetaGeoModel
    from gda_clv.models.wrapped import ModifiedBetaGeoModel, ParetoNBDModel

    return {cls.type: cls for cls in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel)}


def make_frequency_model(type: str, penalizer: float = 0.0) -> FrequencyModel:  # noqa: A002 (config name)
    """The unfitted frequency model named by ``model.frequency.type``.

    Raises ``ConfigError`` for an unknown ``model.frequency.type``.
    """
    cls = model_classes().get(type)
    if cls is None:
        raise ConfigError(f"model.frequency.type must be one of {', '.join(TYPES)} (got {type!r}).")
    return cls(penalizer)
