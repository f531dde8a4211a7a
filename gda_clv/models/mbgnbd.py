"""MBG/NBD (Batislam et al. 2007): lifetimes' own log-likelihood and autograd gradient under our optimiser.

Optimises exactly lifetimes' ``ModifiedBetaGeoFitter`` objective; predictions reuse the BG/NBD stable
hypergeometric evaluation.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gda_clv.models._fitting import Objective
from gda_clv.models._lifetimes import lifetimes, quiet
from gda_clv.models._types import FloatArray
from gda_clv.models.bgnbd import BetaGeoModel, stable_purchases_numerator
from gda_clv.models.frequency import FrequencyModel


class ModifiedBetaGeoModel(FrequencyModel):
    """MBG/NBD (Batislam et al. 2007): like BG/NBD but a customer may also drop out right after the first purchase."""

    type = "mbgnbd"
    # the BG/NBD parameters (r, alpha, a, b) with alpha in time units, and the same optimiser starts
    param_names = BetaGeoModel.param_names
    time_params = BetaGeoModel.time_params
    starts = BetaGeoModel.starts
    lifetimes_class = "ModifiedBetaGeoFitter"
    lifetimes_generator = "modified_beta_geometric_nbd_model"

    def _objective(self, frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray) -> Objective:
        from autograd import value_and_grad

        nll = value_and_grad(lifetimes.ModifiedBetaGeoFitter._negative_log_likelihood)
        x = frequency.astype(int)

        def objective(log_params: FloatArray, penalizer: float) -> tuple[float, FloatArray]:
            with quiet():
                value, grad = nll(log_params, x, recency, T, weights, penalizer)
            return float(value), np.asarray(grad, dtype=float)

        return objective

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """lifetimes' MBG/NBD conditional expected purchases, with the hypergeometric term evaluated stably."""
        r, alpha, a, b = self.param_array()
        x, age = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        numerator = stable_purchases_numerator(r, alpha, a, b, x, np.asarray(t, dtype=float), age, b_shift=1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (r + x) * np.log((alpha + age) / (alpha + np.asarray(recency, dtype=float)))
            return np.asarray(numerator / (1 + a / (b + x) * np.exp(log_ratio)), dtype=float)
