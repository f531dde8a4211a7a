"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987): lifetimes' own log-likelihood under our optimiser.

lifetimes' Pareto/NBD likelihood is not autograd-friendly (scipy's hyp2f1), so the gradient is a central
difference. lifetimes normalises the likelihood by ``weights.mean()`` (a plain sum for per-customer data); we
rescale its penalizer by rows / customers so that a compressed fit optimises the same thing as lifetimes' fit on
all customers. Predictions are lifetimes' own (the base class).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gda_clv.models._fitting import Objective
from gda_clv.models._lifetimes import lifetimes, quiet
from gda_clv.models._types import FloatArray
from gda_clv.models.frequency import FrequencyModel


def central_gradient(fun: Callable[[FloatArray], float], step: float = 1e-6) -> Callable[[FloatArray], FloatArray]:
    """Central-difference gradient of a scalar function."""

    def grad(x: FloatArray) -> FloatArray:
        out = np.empty(len(x))
        for k in range(len(x)):
            e = np.zeros(len(x))
            e[k] = step
            out[k] = (fun(x + e) - fun(x - e)) / (2 * step)
        return out

    return grad


class ParetoNBDModel(FrequencyModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchases, exponential lifetimes."""

    type = "pareto_nbd"
    param_names = ("r", "alpha", "s", "beta")
    time_params = (1, 3)
    starts = ((0.0, 0.0, 0.0, 0.0), (0.1, 0.1, 0.1, 0.1), (np.log(0.5), np.log(0.5), np.log(0.5), np.log(2.0)))
    lifetimes_class = "ParetoNBDFitter"
    lifetimes_generator = "pareto_nbd_model"

    def _objective(self, frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray) -> Objective:
        nll = lifetimes.ParetoNBDFitter._negative_log_likelihood
        x = frequency.astype(int)
        rows, total = len(x), weights.sum()

        def objective(log_params: FloatArray, penalizer: float) -> tuple[float, FloatArray]:
            # lifetimes: -sum(w*ll)/mean(w) + pen'*sum(p^2); with pen' = pen*rows/total, dividing by rows gives
            # (-sum(w*ll) + pen*sum(p^2)) / total, i.e. lifetimes' per-customer objective scaled by 1/customers.
            def value(lp: FloatArray) -> float:
                with quiet(), np.errstate(all="ignore"):
                    return float(nll(np.exp(lp), x, recency, T, weights, penalizer * rows / total)) / rows

            return value(log_params), central_gradient(value)(log_params)

        return objective
