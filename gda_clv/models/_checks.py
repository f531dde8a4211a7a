"""Input checks shared by the models: arrays of equal length with the values the models can use."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gda_clv.errors import DataError
from gda_clv.models._types import FloatArray


def as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """A 1-d float array of ``values``; DataError naming ``name`` if it has missing values."""
    arr = np.asarray(values, dtype=float).reshape(-1)
    if np.isnan(arr).any():
        raise DataError(f"Column '{name}' has {int(np.isnan(arr).sum())} missing values; fill or drop them first.")
    return arr


def weights_array(weights: ArrayLike | None, n: int) -> FloatArray:
    """Customer counts per row (1 each when ``weights`` is None); must be positive."""
    if weights is None:
        return np.ones(n)
    w = as_float_array(weights, "weight")
    if len(w) != n:
        raise DataError(f"Column 'weight' has {len(w)} rows but the data has {n}; pass one count per row.")
    if (w <= 0).any():
        raise DataError("Column 'weight' must be a positive count of customers per row.")
    return w


def check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validated (frequency, recency, T, weights) arrays as lifetimes' summary defines them."""
    f = as_float_array(frequency, "frequency")
    r = as_float_array(recency, "recency")
    t = as_float_array(T, "T")
    if not len(f) == len(r) == len(t):
        raise DataError(f"frequency, recency and T must have the same length (got {len(f)}, {len(r)}, {len(t)}).")
    if len(f) == 0:
        raise DataError("No customers to fit: frequency, recency and T are empty.")
    if (f < 0).any() or (f != np.round(f)).any():
        raise DataError("Column 'frequency' must hold non-negative whole numbers (repeat purchase periods).")
    if (r < 0).any():
        raise DataError("Column 'recency' has negative values; recency is the age at the last purchase (>= 0).")
    if (r > t).any():
        raise DataError(f"Column 'recency' is larger than 'T' for {int((r > t).sum())} customers; recency <= T.")
    if (r[f == 0] != 0).any():
        raise DataError("Column 'recency' must be 0 where 'frequency' is 0 (one-time buyers).")
    if not (t > 0).any():
        raise DataError("Column 'T' is 0 for every customer; customers need some age to fit a model.")
    return f, r, t, weights_array(weights, len(f))


def check_monetary(
    frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated (frequency, monetary_value, weights) of repeat customers for the Gamma-Gamma fit."""
    f = as_float_array(frequency, "frequency")
    m = as_float_array(monetary_value, "monetary_value")
    if len(f) != len(m):
        raise DataError(f"frequency and monetary_value must have the same length (got {len(f)}, {len(m)}).")
    if len(f) == 0:
        raise DataError("No repeat customers to fit the Gamma-Gamma model (filtered_cal is empty).")
    if (f <= 0).any() or (m <= 0).any():
        raise DataError(
            "The Gamma-Gamma model needs repeat customers only: 'frequency' and 'monetary_value' must be > 0 "
            "(use filtered_cal)."
        )
    return f, m, weights_array(weights, len(f))
