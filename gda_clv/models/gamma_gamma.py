"""Gamma-Gamma spend model (Fader & Hardie 2013) with an analytic gradient; lifetimes' GammaGammaFitter objective.

Objective: -sum(w * ll) / sum(w) + penalizer * (p^2 + q^2 + (v/s)^2) over log-parameters, where ``s`` is the
customer-weighted mean of ``monetary_value``: spend is fitted in units of its own mean and ``v`` scaled back, so
the penalty, and with it every estimate and expected spend, does not depend on the currency unit. At penalizer 0
this is lifetimes' maximum likelihood estimate; with a penalizer lifetimes penalizes v in currency units instead
(its estimates change with the unit). With ``q_constraint`` (default) log q >= 0, i.e. q >= 1, as lifetimes'
``q_constraint=True``, so the population mean spend p*v/(q-1) cannot be negative; an optimum on the bound q = 1
(infinite mean spend) is a failed fit, not a converged one.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from gda_clv.errors import ModelError
from gda_clv.models._checks import check_monetary
from gda_clv.models._fitting import Objective, ValueAndGrad, fit_with_retries, minimize_smooth, standard_errors, wsum
from gda_clv.models._lifetimes import lifetimes
from gda_clv.models._types import FloatArray
from gda_clv.models.base import FittedModel
from gda_clv.models.compress import distinct

FIX_HINT = (
    "Try a larger model.monetary.penalizer (e.g. 0.01), keep model.monetary.q_constraint on, and check that "
    "filtered_cal holds enough repeat customers with positive spend."
)
PARAM_NAMES = ("p", "q", "v")
# Start points in log (p, q, v / s); the last one puts the population mean spend p*v/(q-1) at the observed mean.
STARTS = ((0.1, 0.1, 0.1), (0.0, 0.5, 0.0), (np.log(5.0), np.log(3.0), np.log(0.4)))
_ON_BOUND = 1e-8  # log q at or below this with q_constraint: the optimum sits on q = 1


class GammaGammaModel(FittedModel):
    """Average spend per transaction: x transactions of Gamma(p, nu) spend, nu ~ Gamma(q, v) per customer."""

    param_names = PARAM_NAMES
    label = "Gamma-Gamma"

    def __init__(self, penalizer: float = 0.0, q_constraint: bool = True) -> None:
        """An unfitted model (``q_constraint``: q >= 1).

        Raises ``ValueError`` when the penalizer is not a number >= 0.
        """
        super().__init__(penalizer)
        self.q_constraint = bool(q_constraint)

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None) -> GammaGammaModel:
        """Fit on repeat customers (frequency > 0, monetary_value > 0); ``weights`` = customers per row.

        Returns self. Raises ModelError when no start point converges or the optimum is on the q = 1 bound.
        """
        x, m, w = check_monetary(frequency, monetary_value, weights)
        scale = float(np.average(m, weights=w))  # the unit of spend the fit works in
        objective = gamma_gamma_objective(x, m / scale, w)
        lower = [None, 0.0, None] if self.q_constraint else None
        outcome = fit_with_retries(
            lambda x0, pen: minimize_smooth(lambda lp: objective(lp, pen), x0, lower=lower),
            [np.asarray(s, dtype=float) for s in STARTS],
            self.penalizer,
            what="Gamma-Gamma (model.monetary)",
            fix=FIX_HINT,
        )
        if self.q_constraint and outcome.x[1] <= _ON_BOUND:
            raise ModelError(
                f"The Gamma-Gamma (model.monetary) fit ended on the bound q = 1 (penalizer {outcome.penalizer:g}), "
                "where the mean spend p*v/(q-1) is infinite: it has not converged. Lower model.monetary.penalizer "
                "(and model.monetary.tuning.penalizer_max), or cap heavy-tailed spend (data.outliers.rule: cap)."
            )
        log_params = _newton_polish(lambda lp: objective(lp, outcome.penalizer), outcome.x, outcome.hessian)
        if self.q_constraint and log_params[1] < 0:  # the polish may not leave the feasible region
            log_params = outcome.x
        params = np.exp(log_params) * np.array([1.0, 1.0, scale])
        # The Hessian is that of the mean log-likelihood in log-parameters: unchanged by the scale of v.
        log_likelihood = -gamma_gamma_objective(x, m, w)(np.log(params), 0.0)[0] * w.sum()
        self._record_fit(params, standard_errors(params, outcome.hessian, w.sum()), log_likelihood, outcome, w.sum())
        return self

    def expected_average_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """E[spend per transaction | x, m] (lifetimes' conditional_expected_average_profit).

        For frequency 0 the individual weight is 0, so the result is the population mean p*v/(q-1).
        """
        base, slope = self.spend_line(frequency)
        return np.asarray(base + slope * np.asarray(monetary_value, dtype=float), dtype=float)

    def spend_line(self, frequency: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """``(base, slope)`` with E[spend | x, m] = base + slope * m: the expected spend is linear in the observed
        mean spend m, with coefficients that depend on the frequency x only.

        base = (1 - w) * p*v/(q-1) (the population mean's share), slope = w = p*x / (p*x + q - 1).
        """
        p, q, v = self.param_array()
        x = np.asarray(frequency, dtype=float)
        individual_weight = p * x / (p * x + q - 1)
        population_mean = v * p / (q - 1)
        return np.asarray((1 - individual_weight) * population_mean, dtype=float), individual_weight

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (NaN standard errors become None)."""
        return {
            "type": "gamma_gamma",
            "q_constraint": self.q_constraint,
            **self._fit_state(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GammaGammaModel:
        """Rebuild a model written by ``to_dict``.

        Raises ``ModelError`` when ``d`` is not a saved Gamma-Gamma model.
        """
        if d.get("type") != "gamma_gamma" or any(n not in d.get("params", {}) for n in PARAM_NAMES):
            raise ModelError(f"Not a saved Gamma-Gamma model (type {d.get('type')!r}, needs params p, q, v).")
        model = cls(d.get("penalizer", 0.0), d.get("q_constraint", True))
        model._restore_fit_state(d, PARAM_NAMES)
        return model

    def to_lifetimes(self, frequency: ArrayLike | None = None, monetary_value: ArrayLike | None = None) -> Any:
        """A lifetimes GammaGammaFitter carrying these parameters (and the data, if given)."""
        fitter = lifetimes.GammaGammaFitter(penalizer_coef=self.penalizer_used_)
        fitter.params_ = pd.Series(self.param_array(), index=list(PARAM_NAMES))
        fitter.standard_errors_ = pd.Series([self.standard_errors_.get(n, math.nan) for n in PARAM_NAMES],
                                            index=list(PARAM_NAMES))
        if frequency is not None and monetary_value is not None:
            x = np.asarray(frequency, dtype=float)
            fitter.data = pd.DataFrame(
                {"monetary_value": np.asarray(monetary_value, dtype=float), "frequency": x, "weights": np.ones(len(x))}
            )
        return fitter


def _newton_polish(fun: ValueAndGrad, x: FloatArray, hessian: FloatArray, steps: int = 2) -> FloatArray:
    """A couple of Newton steps from the optimiser's answer: the estimate then depends on the data, not on the path
    the optimiser took (spend in dollars and in cents agree to 1e-12 instead of the optimiser's 1e-8)."""
    for _ in range(steps):
        step = np.linalg.solve(hessian, fun(x)[1])
        if not np.all(np.isfinite(step)):
            break
        x = x - step
    return x


def gamma_gamma_objective(frequency: FloatArray, monetary_value: FloatArray, weights: FloatArray) -> Objective:
    """lifetimes' Gamma-Gamma objective and its analytic gradient in log-parameters.

    The gamma functions depend on the frequency only: they are evaluated once per distinct frequency with the
    customer counts; the sums in log m are constants. Only log(x m + v) and 1 / (x m + v) remain per customer.
    """
    x, m, w = frequency, monetary_value, weights
    total = w.sum()
    xu, inverse = distinct(x)
    wx = np.bincount(inverse, weights=w, minlength=len(xu))  # customers per distinct frequency
    wxu = wx * xu
    w_x = w * x
    xm = x * m
    log_m = np.log(m)
    sum_xlog_m = wsum(w_x, log_m)  # sum of w * x * log m
    sum_log_m = wsum(w, log_m)
    log_xu = np.log(xu)

    def objective(log_params: FloatArray, penalizer: float) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        p, q, v = params
        px = p * xu
        log_xmv = np.log(xm + v)
        inv_xmv = 1.0 / (xm + v)
        sum_x_log_xmv, sum_log_xmv = wsum(w_x, log_xmv), wsum(w, log_xmv)
        ll = (
            wsum(wx, gammaln(px + q) - gammaln(px) + px * log_xu)
            + total * (q * np.log(v) - gammaln(q)) + p * sum_xlog_m - sum_log_m
            - p * sum_x_log_xmv - q * sum_log_xmv
        )
        dig = digamma(px + q)
        g_p = wsum(wxu, dig - digamma(px) + log_xu) + sum_xlog_m - sum_x_log_xmv
        g_q = wsum(wx, dig) + total * (np.log(v) - digamma(q)) - sum_log_xmv
        g_v = total * q / v - p * wsum(w_x, inv_xmv) - q * wsum(w, inv_xmv)
        value = -ll / total + penalizer * np.sum(params**2)
        grad = -np.array([g_p, g_q, g_v]) * params / total + 2.0 * penalizer * params**2
        return float(value), grad

    return objective
