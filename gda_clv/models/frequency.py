"""Frequency models (BG/NBD, MBG/NBD, Pareto/NBD) behind one small interface.

Every model optimises the same objective as its lifetimes fitter: time is scaled so that the oldest customer
has T = 1, parameters are optimised on the log scale, the log-likelihood is the weighted mean over customers
(weights = customers sharing a (frequency, recency, T) tuple) and the L2 penalizer acts on the scaled
parameters. Fitting on compressed tuples therefore gives the estimates of a plain fit on all customers.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from gda_clv.errors import ModelError
from gda_clv.models._checks import check_rfm
from gda_clv.models._fitting import Objective, fit_with_retries, minimize_smooth, standard_errors, wsum
from gda_clv.models._lifetimes import generate_data, lifetimes, quiet
from gda_clv.models._types import FloatArray
from gda_clv.models.base import FittedModel

# objective(log_params, penalizer) -> (per-customer penalized negative log-likelihood, gradient)

FIX_HINT = (
    "Try a larger model.frequency.penalizer (e.g. 0.01) or another model.frequency.type "
    "(bgnbd, mbgnbd, pareto_nbd), and check that the calibration period holds enough repeat purchases."
)


#: the frequency model classes by ``model.frequency.type``; each concrete class registers itself when defined
_REGISTRY: dict[str, type[FrequencyModel]] = {}


class FrequencyModel(FittedModel, ABC):
    """A fitted-or-not frequency model: fit / params_ / expected purchases / P(alive) / to_dict / to_lifetimes.

    A subclass that sets ``type`` registers under it (:func:`make_frequency_model`, :meth:`from_dict`).
    """

    type: ClassVar[str]
    #: indices of parameters measured in time units (rescaled with T like lifetimes does)
    time_params: ClassVar[tuple[int, ...]]
    #: log-parameter start points, tried in order (see gda_clv.models._fitting for the retry policy)
    starts: ClassVar[tuple[tuple[float, ...], ...]]
    lifetimes_class: ClassVar[str]
    lifetimes_generator: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            cls.label = cls.type
            _REGISTRY[cls.type] = cls

    def __init__(self, penalizer: float = 0.0) -> None:
        """An unfitted model.

        Raises ``ValueError`` when the penalizer is not a number >= 0.
        """
        super().__init__(penalizer)
        self.n_tuples_ = 0

    # ---- fitting -------------------------------------------------------------------------------------------
    @abstractmethod
    def _objective(self, frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray) -> Objective:
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
        # lifetimes' likelihood is in scaled time; each of the x purchase times contributes a 1/scale Jacobian.
        log_likelihood = -objective(outcome.x, 0.0)[0] * w.sum() + wsum(w, f) * np.log(scale)
        self._record_fit(params, standard_errors(params, outcome.hessian, w.sum()), log_likelihood, outcome, w.sum())
        self.n_tuples_ = len(f)
        return self

    # ---- predictions (lifetimes' formulas; subclasses may vectorise them in numpy) ----------------------------
    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Conditional expected number of repeat purchases in the next ``t`` periods."""
        fitter = self.to_lifetimes()
        with quiet(), np.errstate(all="ignore"):
            out = fitter.conditional_expected_number_of_purchases_up_to_time(
                t, np.asarray(frequency, dtype=float), np.asarray(recency, dtype=float), np.asarray(T, dtype=float)
            )
        return np.asarray(out, dtype=float)

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Probability that a customer with this history is still active."""
        fitter = self.to_lifetimes()
        with quiet(), np.errstate(all="ignore"):
            out = fitter.conditional_probability_alive(
                np.asarray(frequency, dtype=float), np.asarray(recency, dtype=float), np.asarray(T, dtype=float)
            )
        return np.asarray(out, dtype=float)

    def discounted_purchases(
        self, frequency: FloatArray, recency: FloatArray, T: FloatArray, steps: FloatArray, discounts: FloatArray
    ) -> FloatArray:
        """Per customer, sum over k of (E[purchases up to steps[k]] - E[up to steps[k-1]]) / discounts[k].

        The horizon loop of the CLV sum; subclasses may compute it faster.
        """
        total = np.zeros(len(frequency))
        previous = np.zeros(len(frequency))
        for t, discount in zip(steps, discounts, strict=True):
            cumulative = self.expected_purchases(t, frequency, recency, T)
            total += (cumulative - previous) / discount
            previous = cumulative
        return total

    # ---- persistence and lifetimes interop ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (NaN standard errors become None)."""
        return {"type": self.type, **self._fit_state(), "n_tuples": self.n_tuples_}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> FrequencyModel:
        """Rebuild a model written by ``to_dict``.

        Raises ``ModelError`` when the saved type is unknown or its parameters are missing.
        """
        cls = _REGISTRY.get(d.get("type", ""))
        if cls is None:
            raise ModelError(
                f"Saved frequency model has unknown type {d.get('type')!r}; expected one of {tuple(_REGISTRY)}."
            )
        model = cls(d.get("penalizer", 0.0))
        missing = [n for n in cls.param_names if n not in d.get("params", {})]
        if missing:
            raise ModelError(f"Saved {cls.type} model lacks parameters {missing}; retrain it.")
        model._restore_fit_state(d, cls.param_names)
        model.n_tuples_ = int(d.get("n_tuples", 0))
        return model

    def to_lifetimes(
        self, frequency: ArrayLike | None = None, recency: ArrayLike | None = None, T: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> Any:
        """A lifetimes fitter carrying these parameters, usable by lifetimes' plotting and CLV functions.

        Pass the (calibration) data to also set ``data`` and ``generate_new_data``, which some plots need.
        """
        params = self.param_array()
        fitter = getattr(lifetimes, self.lifetimes_class)(penalizer_coef=self.penalizer_used_)
        fitter.params_ = pd.Series(params, index=list(self.param_names))
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
            fitter.generate_new_data = lambda size=1: generator(t, *params, size=size)
        return fitter


def frequency_types() -> tuple[str, ...]:
    """The registered ``model.frequency.type`` names (all of them once :mod:`gda_clv.models` is imported)."""
    return tuple(_REGISTRY)


def make_frequency_model(type: str, penalizer: float = 0.0) -> FrequencyModel:  # noqa: A002 (config name)
    """The unfitted frequency model named ``type`` (``model.frequency.type`` in the config).

    Raises ``ValueError`` for an unknown ``type``.
    """
    cls = _REGISTRY.get(type)
    if cls is None:
        raise ValueError(f"type must be one of {', '.join(_REGISTRY)}, got {type!r}")
    return cls(penalizer)
