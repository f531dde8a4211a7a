"""MBG/NBD and Pareto/NBD: lifetimes' own log-likelihoods and predictions, under our optimiser and retry policy.

MBG/NBD uses lifetimes' autograd gradient, exactly its ``ModifiedBetaGeoFitter`` objective. Pareto/NBD has no
autograd-friendly likelihood (scipy's hyp2f1), so the gradient is a central difference. lifetimes normalises the
Pareto/NBD likelihood by ``weights.mean()`` (a plain sum for per-customer data); we rescale its penalizer by
rows / customers so that a compressed fit optimises the same thing as lifetimes' fit on all customers.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from gda_clv.models._lifetimes import lifetimes, quiet
from gda_clv.models.bgnbd import stable_purchases_numerator
from gda_clv.models.frequency import FrequencyModel, Objective


def central_gradient(fun: Callable[[np.ndarray], float], step: float = 1e-6) -> Callable[[np.ndarray], np.ndarray]:
    """Central-difference gradient of a scalar function."""

    def grad(x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for k in range(len(x)):
            e = np.zeros(len(x))
            e[k] = step
            out[k] = (fun(x + e) - fun(x - e)) / (2 * step)
        return out

    return grad


class ModifiedBetaGeoModel(FrequencyModel):
    """MBG/NBD (Batislam et al. 2007): like BG/NBD but a customer may also drop out right after the first purchase."""

    type = "mbgnbd"
    param_names = ("r", "alpha", "a", "b")
    time_params = (1,)
    starts = ((0.1, 0.1, 0.1, 0.1), (0.0, 0.0, 0.0, 0.0), (np.log(0.5), np.log(0.5), 0.0, np.log(3.0)))
    lifetimes_class = "ModifiedBetaGeoFitter"
    lifetimes_generator = "modified_beta_geometric_nbd_model"

    def _objective(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray) -> Objective:
        from autograd import value_and_grad

        nll = value_and_grad(lifetimes.ModifiedBetaGeoFitter._negative_log_likelihood)
        x = frequency.astype(int)

        def objective(log_params: np.ndarray, penalizer: float) -> tuple[float, np.ndarray]:
            with quiet():
                value, grad = nll(log_params, x, recency, T, weights, penalizer)
            return float(value), np.asarray(grad, dtype=float)

        return objective

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """lifetimes' MBG/NBD conditional expected purchases, with the hypergeometric term evaluated stably."""
        r, alpha, a, b = self.param_array()
        x, age = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        numerator = stable_purchases_numerator(r, alpha, a, b, x, np.asarray(t, dtype=float), age, b_shift=1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (r + x) * np.log((alpha + age) / (alpha + np.asarray(recency, dtype=float)))
            return np.asarray(numerator / (1 + a / (b + x) * np.exp(log_ratio)), dtype=float)


class ParetoNBDModel(FrequencyModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchases, exponential lifetimes."""

    type = "pareto_nbd"
    param_names = ("r", "alpha", "s", "beta")
    time_params = (1, 3)
    starts = ((0.0, 0.0, 0.0, 0.0), (0.1, 0.1, 0.1, 0.1), (np.log(0.5), np.log(0.5), np.log(0.5), np.log(2.0)))
    lifetimes_class = "ParetoNBDFitter"
    lifetimes_generator = "pareto_nbd_model"

    def _objective(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray) -> Objective:
        nll = lifetimes.ParetoNBDFitter._negative_log_likelihood
        x = frequency.astype(int)
        rows, total = len(x), weights.sum()

        def objective(log_params: np.ndarray, penalizer: float) -> tuple[float, np.ndarray]:
            # lifetimes: -sum(w*ll)/mean(w) + pen'*sum(p^2); with pen' = pen*rows/total, dividing by rows gives
            # (-sum(w*ll) + pen*sum(p^2)) / total, i.e. lifetimes' per-customer objective scaled by 1/customers.
            def value(lp: np.ndarray) -> float:
                with quiet(), np.errstate(all="ignore"):
                    return float(nll(np.exp(lp), x, recency, T, weights, penalizer * rows / total)) / rows

            return value(log_params), central_gradient(value)(log_params)

        return objective
