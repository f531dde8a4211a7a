"""Shared optimisation machinery: smooth minimisation, documented retries, Hessians and standard errors.

Retry policy (the same for every model): each start point of the model is tried with the requested
penalizer; if none converges, the first start point is tried again with each larger penalizer of
`retry_penalizers` (``max(2 * p, 0.001)`` then ``max(10 * p, 0.01)``). The first attempt that converges wins;
every attempt is recorded in ``fit_attempts_`` so the caller can log what happened.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from gda_clv.errors import ModelError
from gda_clv.models._types import FloatArray, NumberArray

ValueAndGrad = Callable[[FloatArray], tuple[float, FloatArray]]
# A model's objective: (log-parameters, penalizer) -> (value, gradient).
Objective = Callable[[FloatArray, float], tuple[float, FloatArray]]

# Log-parameter box: exp(+-25) is far outside any sensible CLV parameter; an optimum on it is a failure.
LOG_BOUND = 25.0
# Smallest Hessian eigenvalue (per-customer objective, log scale) accepted as a real optimum.
MIN_CURVATURE = 1e-9


@dataclass(frozen=True)
class Attempt:
    """Outcome of one optimisation attempt; ``x`` are the optimiser's (log, scaled) parameters."""

    converged: bool
    x: FloatArray
    fun: float
    message: str
    hessian: FloatArray | None = None


@dataclass(frozen=True)
class FitOutcome:
    """The converged attempt plus the list of everything that was tried."""

    x: FloatArray
    fun: float
    penalizer: float
    attempts: list[str]
    hessian: FloatArray


def wsum(weights: NumberArray, values: NumberArray) -> float:
    """sum(weights * values) without BLAS (a threaded ddot is slow on busy machines) and without a temporary."""
    return float(np.einsum("i,i->", weights, values))


def retry_penalizers(penalizer: float) -> list[float]:
    """The slightly larger penalizers tried, in order, when every start point fails."""
    return [max(2.0 * penalizer, 0.001), max(10.0 * penalizer, 0.01)]


def fit_with_retries(
    attempt: Callable[[FloatArray, float], Attempt],
    starts: Sequence[FloatArray],
    penalizer: float,
    what: str,
    fix: str,
) -> FitOutcome:
    """Run ``attempt(x0, penalizer)`` following the retry policy; raise ModelError naming all attempts on failure."""
    plan = [(x0, penalizer) for x0 in starts] + [(starts[0], p) for p in retry_penalizers(penalizer)]
    tried: list[str] = []
    for x0, pen in plan:
        result = attempt(np.asarray(x0, dtype=float), pen)
        start = "[" + ", ".join(f"{v:.3g}" for v in np.exp(x0)) + "]"
        tried.append(f"start={start} penalizer={pen:g}: {'converged' if result.converged else result.message}")
        if result.converged and result.hessian is not None:  # a converged attempt always has its Hessian
            return FitOutcome(x=result.x, fun=result.fun, penalizer=pen, attempts=tried, hessian=result.hessian)
    raise ModelError(f"The {what} fit did not converge. Tried: " + "; ".join(tried) + f". {fix}")


def minimize_smooth(fun: ValueAndGrad, x0: FloatArray, lower: Sequence[float | None] | None = None) -> Attempt:
    """Minimise a smooth objective over log-parameters with an analytic gradient, tightly converged.

    BFGS (lifetimes' own method) when unconstrained; L-BFGS-B when ``lower`` raises the lower bound of
    single coordinates (e.g. log q >= 0). Convergence is judged on the gradient, not the optimiser's flag.
    """
    bounds = [(-LOG_BOUND if lo is None else lo, LOG_BOUND) for lo in (lower or [None] * len(x0))]
    with np.errstate(all="ignore"):
        if lower is None:
            res = minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
        else:
            res = minimize(
                fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                options={"maxiter": 5000, "maxfun": 20000, "ftol": 1e-15, "gtol": 1e-9, "maxls": 50},
            )
    x = np.asarray(res.x, dtype=float)
    ok_value = bool(np.isfinite(res.fun) and np.all(np.isfinite(x)))
    free = np.array([b[0] + 1e-8 < v for v, b in zip(x, bounds, strict=True)])
    on_edge = bool(np.any(np.abs(x) >= LOG_BOUND - 1e-6))
    grad = np.asarray(fun(x)[1]) if ok_value else np.full_like(x, np.nan)
    # L-BFGS-B may stop on a relative-reduction test; accept only a (projected) gradient that is really small.
    small_grad = bool(np.all(np.abs(grad[free]) < 1e-5)) if ok_value else False
    hessian = hessian_from_gradient(fun, x) if ok_value and not on_edge and small_grad else None
    # A flat direction (a parameter the data cannot identify) is not an optimum either.
    curved = hessian is not None and bool(np.linalg.eigvalsh(hessian[np.ix_(free, free)]).min() > MIN_CURVATURE)
    if curved:
        message = "converged"
    elif on_edge:
        message = "a parameter ran off to 0 or infinity"
    elif not ok_value:
        message = "the log-likelihood was not finite"
    elif hessian is not None:
        message = "the likelihood is flat in some parameter (not identifiable from this data)"
    else:
        message = f"optimiser stopped without convergence ({res.message})"
    return Attempt(converged=curved, x=x, fun=float(res.fun), message=message, hessian=hessian)


def hessian_from_gradient(fun: ValueAndGrad, x: FloatArray, step: float = 1e-5) -> FloatArray:
    """Central-difference Hessian of an objective from its analytic gradient (symmetrised)."""
    n = len(x)
    hess = np.empty((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = step
        hess[:, k] = (np.asarray(fun(x + e)[1]) - np.asarray(fun(x - e)[1])) / (2 * step)
    return (hess + hess.T) / 2


def hessian_from_values(fun: Callable[[FloatArray], float], x: FloatArray, step: float = 1e-4) -> FloatArray:
    """Central-difference Hessian of a scalar objective from function values only."""
    n = len(x)
    hess = np.empty((n, n))
    f0 = fun(x)
    for i in range(n):
        for j in range(i, n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = step
            ej[j] = step
            if i == j:
                hess[i, i] = (fun(x + ei) - 2 * f0 + fun(x - ei)) / step**2
            else:
                hess[i, j] = hess[j, i] = (
                    fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)
                ) / (4 * step**2)
    return hess


def standard_errors(params: FloatArray, log_hessian: FloatArray, n_customers: float) -> FloatArray:
    """Delta-method standard errors of ``params`` from the Hessian of the per-customer objective in log space.

    Same formula as lifetimes (``params**2 * diag(inv(H)) / n``); NaN where the Hessian is not invertible.
    """
    try:
        cov = np.linalg.inv(log_hessian)
    except np.linalg.LinAlgError:
        return np.full(len(params), np.nan)
    diag = np.diag(cov)
    with np.errstate(invalid="ignore"):
        return np.where(diag > 0, np.abs(params) * np.sqrt(np.abs(diag) / n_customers), np.nan)
