"""BG/NBD (Fader, Hardie & Lee 2005): our vectorised log-likelihood with an analytic gradient.

Optimises exactly lifetimes' ``BetaGeoFitter`` objective (see gda_clv.models.frequency). The terms that depend
only on the frequency x (the gamma functions) are evaluated once per distinct x; the rest are a few
logarithms per distinct (x, t_x, T) tuple, so the cost shrinks with compression.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln, hyp2f1

from gda_clv.models._fitting import Objective, wsum
from gda_clv.models._types import FloatArray
from gda_clv.models.compress import distinct
from gda_clv.models.frequency import FrequencyModel


class BetaGeoModel(FrequencyModel):
    """BG/NBD: Poisson purchases at rate ~ Gamma(r, alpha), dropout after each repeat purchase ~ Beta(a, b)."""

    type = "bgnbd"
    param_names = ("r", "alpha", "a", "b")
    time_params = (1,)
    starts = ((0.1, 0.1, 0.1, 0.1), (0.0, 0.0, 0.0, 0.0), (np.log(0.5), np.log(0.5), 0.0, np.log(3.0)))
    lifetimes_class = "BetaGeoFitter"
    lifetimes_generator = "beta_geometric_nbd_model"

    def _objective(self, frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray) -> Objective:
        return bgnbd_objective(frequency, recency, T, weights)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """lifetimes' conditional_expected_number_of_purchases_up_to_time (FHL 2005 eq. 10), in numpy.

        lifetimes takes the log of the hypergeometric term, which is NaN when that term is negative (possible
        when a + b + x < 1, e.g. under a strong penalizer); here its sign is kept, so those customers get the
        value of the same expression instead of NaN. Elsewhere the result is lifetimes' to rounding.
        """
        return np.asarray(
            self.purchases_numerator(t, frequency, T) / self.recency_factor(frequency, recency, T), dtype=float
        )

    def purchases_numerator(self, t: ArrayLike, frequency: ArrayLike, T: ArrayLike) -> FloatArray:
        """The part of :meth:`expected_purchases` that depends on the horizon: a function of (t, x, T) only.

        ``expected_purchases = purchases_numerator / recency_factor``.
        """
        r, alpha, a, b = self.param_array()
        return stable_purchases_numerator(r, alpha, a, b, np.asarray(frequency, dtype=float),
                                          np.asarray(t, dtype=float), np.asarray(T, dtype=float), b_shift=0.0)

    def recency_factor(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """The horizon-free denominator of :meth:`expected_purchases`.

        1 + [x > 0] a / (b + x - 1) * ((alpha + T) / (alpha + t_x))**(r + x).
        """
        r, alpha, a, b = self.param_array()
        x = np.asarray(frequency, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = (alpha + np.asarray(T, dtype=float)) / (alpha + np.asarray(recency, dtype=float))
            return np.asarray(1 + (x > 0) * (a / (b + x - 1)) * ratio ** (r + x), dtype=float)

    def discounted_purchases(
        self, frequency: FloatArray, recency: FloatArray, T: FloatArray, steps: FloatArray, discounts: FloatArray
    ) -> FloatArray:
        """The base class's discounted sum, with the horizon loop run once per distinct (x, T) pair.

        E[purchases up to t] = numerator(t, x, T) / recency_factor(x, t_x, T), so the discounted sum of the numerator
        increments is computed per distinct (x, T) pair and divided by each customer's recency factor.
        """
        fu, fi = distinct(frequency)
        tu, ti = distinct(T)
        pairs, pi = distinct(fi * len(tu) + ti)
        x_pair, t_pair = fu[pairs // len(tu)], tu[pairs % len(tu)]
        total = np.zeros(len(pairs))
        previous = np.zeros(len(pairs))
        for t, discount in zip(steps, discounts, strict=True):
            cumulative = self.purchases_numerator(t, x_pair, t_pair)
            total += (cumulative - previous) / discount
            previous = cumulative
        with np.errstate(divide="ignore", invalid="ignore"):
            expected: FloatArray = np.asarray(total[pi] / self.recency_factor(frequency, recency, T), dtype=float)
        return expected

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """lifetimes' conditional_probability_alive (Fader, Hardie & Lee note 021), in numpy."""
        r, alpha, a, b = self.param_array()
        x = np.asarray(frequency, dtype=float)
        log_div = (r + x) * np.log((alpha + np.asarray(T, dtype=float)) / (alpha + np.asarray(recency, dtype=float)))
        log_div = log_div + np.log(a / (b + np.maximum(x, 1) - 1))
        alive: FloatArray = np.atleast_1d(np.where(x == 0, 1.0, expit(-log_div)))
        return alive


def stable_purchases_numerator(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t: FloatArray, age: FloatArray, b_shift: float
) -> FloatArray:
    """(c / (a - 1)) * (1 - H), H = 2F1(r + x, B; c; z) * (1 - z)**(r + x), z = t / (alpha + T + t), evaluated stably.

    BG/NBD: B = b + x, c = a + b + x - 1 (``b_shift`` 0); MBG/NBD: B = b + x + 1, c = a + b + x (``b_shift`` 1).
    H is taken from the first finite of three equal forms: the direct one; Euler's,
    (1 - z)**(c - B) * 2F1(c - r - x, c - B; c; z) (long horizons, where 2F1 itself overflows); and Pfaff's,
    2F1(r + x, c - B; c; z / (z - 1)), in which the power cancels (hundreds of purchases at a tiny T, where 2F1
    overflows while the power underflows). scipy returns inf when c - r - x - B is an integer (its logarithmic
    case); there c is moved by a relative 1e-9 (the result moves by about as much), and the forms are tried again.
    """
    big_b = b + x + b_shift
    c = a + b + x - 1 + b_shift
    z = t / (alpha + age + t)
    log_1mz = np.log((alpha + age) / (alpha + age + t))

    def forms(c: FloatArray) -> Iterator[tuple[FloatArray, FloatArray]]:
        yield hyp2f1(r + x, big_b, c, z), (r + x) * log_1mz
        yield hyp2f1(c - r - x, c - big_b, c, z), (c - big_b) * log_1mz  # Euler
        yield hyp2f1(r + x, c - big_b, c, z / (z - 1)), np.zeros_like(log_1mz)  # Pfaff

    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        sign, log_h = np.ones(np.broadcast(c, z).shape), np.full(np.broadcast(c, z).shape, np.nan)
        for value, log_factor in itertools.chain(forms(c), forms(c * (1 + 1e-9))):
            bad = ~np.isfinite(log_h)
            if not np.any(bad):
                break
            log_value = np.log(np.abs(value)) + log_factor
            sign, log_h = np.where(bad, np.sign(value), sign), np.where(bad, log_value, log_h)
        return np.asarray(c / (a - 1) * (1 - sign * np.exp(log_h)), dtype=float)


def log1p_exp(d: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(log(1 + exp(d)), exp(d) / (1 + exp(d))) without overflow: for d > 30 they are d and 1 to double precision."""
    e = np.exp(np.minimum(d, 30.0))
    return np.where(d > 30.0, d, np.log1p(e)), e / (1.0 + e)


def bgnbd_objective(frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray) -> Objective:
    """lifetimes' BG/NBD objective and its analytic gradient in log-parameters, on (scaled) data.

    Per customer: ll = A1 + A2 + log(exp(A3) + [x > 0] exp(A4)) with lifetimes' A1..A4; the objective is
    -sum(w * ll) / sum(w) + penalizer * sum(params**2). Logarithms and reciprocals of alpha + T (and alpha + t_x)
    are taken once per distinct T (t_x) and gathered; the sums over all customers are reduced to sums per
    distinct T with customer counts, computed once here.
    """
    x = frequency
    w = weights
    total = w.sum()
    xu, ix = distinct(x)
    wx = np.bincount(ix, weights=w, minlength=len(xu))  # customers per distinct frequency
    Tu, iT = distinct(T)
    wT = np.bincount(iT, weights=w, minlength=len(Tu))  # customers per distinct T
    wxT = np.bincount(iT, weights=w * x, minlength=len(Tu))  # their purchases
    rep = x > 0
    wr = w[rep]
    xr = x[rep]
    iTr = iT[rep]
    tu, itr = distinct(recency[rep])
    ixr = ix[rep]  # distinct-frequency index of each repeat buyer

    def objective(log_params: FloatArray, penalizer: float) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        r, alpha, a, b = params
        # Terms in x only, once per distinct x.
        a12 = (
            gammaln(r + xu) - gammaln(r) + r * np.log(alpha)
            + gammaln(a + b) + gammaln(b + xu) - gammaln(b) - gammaln(a + b + xu)
        )
        log_aT = np.log(alpha + Tu)
        inv_aT = 1.0 / (alpha + Tu)
        rwT = r * wT + wxT  # sum of w * (r + x) per distinct T
        ll = wsum(wx, a12) - wsum(rwT, log_aT)  # A1 + A2 + A3
        # Repeat buyers: log(exp(A3) + exp(A4)) = A3 + log1p(exp(d)), d = A4 - A3.
        log_b = np.log(b + np.maximum(xu, 1.0) - 1.0)  # b + x - 1 per distinct x (x = 0 rows never use it)
        lag = np.log(alpha + tu)[itr] - log_aT[iTr]  # log(alpha + t_x) - log(alpha + T)
        rx = r + xr
        d = (np.log(a) - log_b)[ixr] - rx * lag
        soft, s = log1p_exp(d)  # s: weight of the "dropped out after the last purchase" branch
        ll += wsum(wr, soft)
        ws = wr * s
        # Gradient of the total log-likelihood with respect to (r, alpha, a, b).
        g_r = wsum(wx, digamma(r + xu) - digamma(r) + np.log(alpha)) - wsum(wT, log_aT) - wsum(ws, lag)
        recip = (1.0 / (alpha + tu))[itr] - inv_aT[iTr]
        g_alpha = total * r / alpha - wsum(rwT, inv_aT) - wsum(ws, rx * recip)
        sum_ws = ws.sum()
        g_a = wsum(wx, digamma(a + b) - digamma(a + b + xu)) + sum_ws / a
        ws_x = np.bincount(ixr, weights=ws, minlength=len(xu))
        g_b = (
            wsum(wx, digamma(a + b) + digamma(b + xu) - digamma(b) - digamma(a + b + xu))
            - wsum(ws_x, np.exp(-log_b))
        )
        grad_ll = np.array([g_r, g_alpha, g_a, g_b])
        value = -ll / total + penalizer * np.sum(params**2)
        grad = -grad_ll * params / total + 2.0 * penalizer * params**2
        return float(value), grad

    return objective
