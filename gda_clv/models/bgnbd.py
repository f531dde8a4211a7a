"""BG/NBD (Fader, Hardie & Lee 2005): our vectorised log-likelihood with an analytic gradient.

Optimises exactly lifetimes' ``BetaGeoFitter`` objective (see gda_clv.models.frequency). The terms that depend
only on the frequency x (the gamma functions) are evaluated once per distinct x; the rest are a few
logarithms per distinct (x, t_x, T) tuple, so the cost shrinks with compression.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln, hyp2f1

from gda_clv.models._fitting import wsum
from gda_clv.models.frequency import FrequencyModel, Objective


class BetaGeoModel(FrequencyModel):
    """BG/NBD: Poisson purchases at rate ~ Gamma(r, alpha), dropout after each repeat purchase ~ Beta(a, b)."""

    type = "bgnbd"
    param_names = ("r", "alpha", "a", "b")
    time_params = (1,)
    starts = ((0.1, 0.1, 0.1, 0.1), (0.0, 0.0, 0.0, 0.0), (np.log(0.5), np.log(0.5), 0.0, np.log(3.0)))
    lifetimes_class = "BetaGeoFitter"
    lifetimes_generator = "beta_geometric_nbd_model"

    def _objective(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray) -> Objective:
        return bgnbd_objective(frequency, recency, T, weights)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """lifetimes' conditional_expected_number_of_purchases_up_to_time (FHL 2005 eq. 10), in numpy.

        lifetimes takes the log of the hypergeometric term, which is NaN when that term is negative (possible
        when a + b + x < 1, e.g. under a strong penalizer); here its sign is kept, so those customers get the
        value of the same expression instead of NaN. Elsewhere the result is lifetimes' to rounding.
        """
        r, alpha, a, b = self.param_array()
        x = np.asarray(frequency, dtype=float)
        t = np.asarray(t, dtype=float)
        age = np.asarray(T, dtype=float)
        rec = np.asarray(recency, dtype=float)
        _a, _b, _c = r + x, b + x, a + b + x - 1
        z = t / (alpha + age + t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            hyp = hyp2f1(_a, _b, _c, z)
            sign, ln_hyp = np.sign(hyp), np.log(np.abs(hyp))
            bad = np.isinf(ln_hyp)
            if np.any(bad):  # lifetimes' equivalent form where the direct one overflows
                alt = hyp2f1(_c - _a, _c - _b, _c, z)
                ln_alt = np.log(np.abs(alt)) + (_c - _a - _b) * np.log1p(-z)
                sign, ln_hyp = np.where(bad, np.sign(alt), sign), np.where(bad, ln_alt, ln_hyp)
            first = (a + b + x - 1) / (a - 1)
            second = 1 - sign * np.exp(ln_hyp + (r + x) * np.log((alpha + age) / (alpha + t + age)))
            denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + age) / (alpha + rec)) ** (r + x)
        return np.asarray(first * second / denominator, dtype=float)

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """lifetimes' conditional_probability_alive (Fader, Hardie & Lee note 021), in numpy."""
        r, alpha, a, b = self.param_array()
        x = np.asarray(frequency, dtype=float)
        log_div = (r + x) * np.log((alpha + np.asarray(T, dtype=float)) / (alpha + np.asarray(recency, dtype=float)))
        log_div = log_div + np.log(a / (b + np.maximum(x, 1) - 1))
        return np.atleast_1d(np.where(x == 0, 1.0, expit(-log_div)))


def bgnbd_objective(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray) -> Objective:
    """lifetimes' BG/NBD objective and its analytic gradient in log-parameters, on (scaled) data.

    Per customer: ll = A1 + A2 + log(exp(A3) + [x > 0] exp(A4)) with lifetimes' A1..A4; the objective is
    -sum(w * ll) / sum(w) + penalizer * sum(params**2).
    """
    x = frequency
    w = weights
    total = w.sum()
    xu, inverse = np.unique(x, return_inverse=True)
    wx = np.bincount(inverse, weights=w)  # customers per distinct frequency
    rep = x > 0
    xr, tr, Tr, wr = x[rep], recency[rep], T[rep], w[rep]
    log_b_shift = xr - 1  # b + max(x, 1) - 1 for repeat buyers

    def objective(log_params: np.ndarray, penalizer: float) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        r, alpha, a, b = params
        # Terms in x only, once per distinct x.
        a12 = (
            gammaln(r + xu) - gammaln(r) + r * np.log(alpha)
            + gammaln(a + b) + gammaln(b + xu) - gammaln(b) - gammaln(a + b + xu)
        )
        log_aT = np.log(alpha + T)
        ll = wsum(wx, a12) - wsum(w, (r + x) * log_aT)  # A1 + A2 + A3
        # Repeat buyers: log(exp(A3) + exp(A4)) = A3 + log1p(exp(d)), d = A4 - A3.
        log_at = np.log(alpha + tr)
        log_aTr = log_aT[rep]
        d = np.log(a) - np.log(b + log_b_shift) - (r + xr) * (log_at - log_aTr)
        ll += wsum(wr, np.logaddexp(0.0, d))
        s = expit(d)  # weight of the "dropped out after the last purchase" branch
        ws = wr * s
        # Gradient of the total log-likelihood with respect to (r, alpha, a, b).
        g_r = wsum(wx, digamma(r + xu) - digamma(r) + np.log(alpha)) - wsum(w, log_aT) - wsum(ws, log_at - log_aTr)
        g_alpha = (
            total * r / alpha - wsum(w, (r + x) / (alpha + T))
            - wsum(ws, (r + xr) * (1.0 / (alpha + tr) - 1.0 / (alpha + Tr)))
        )
        g_a = wsum(wx, digamma(a + b) - digamma(a + b + xu)) + ws.sum() / a
        g_b = (
            wsum(wx, digamma(a + b) + digamma(b + xu) - digamma(b) - digamma(a + b + xu))
            - wsum(ws, 1.0 / (b + log_b_shift))
        )
        grad_ll = np.array([g_r, g_alpha, g_a, g_b])
        value = -ll / total + penalizer * np.sum(params**2)
        grad = -grad_ll * params / total + 2.0 * penalizer * params**2
        return float(value), grad

    return objective
