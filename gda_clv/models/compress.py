"""Compress per-customer rows to one row per distinct tuple with a customer count (the fit's sufficient statistics)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from gda_clv.errors import DataError
from gda_clv.models._types import FloatArray, IndexArray

# Largest combined integer key of the fast path (product of the distinct counts per column).
_MAX_KEY = 2**62

Scalar = TypeVar("Scalar", bound=np.generic)


def distinct(values: npt.NDArray[Scalar], sort: bool = False) -> tuple[npt.NDArray[Scalar], IndexArray]:
    """(distinct values, index of each element's value): a hash-based np.unique(return_inverse=True).

    Unsorted unless ``sort``; NaN counts as one value, like np.unique.
    """
    codes, uniques = pd.factorize(np.asarray(values), sort=sort, use_na_sentinel=False)
    return np.asarray(uniques), np.asarray(codes, dtype=np.int64)


def compress(df: pd.DataFrame, cols: Sequence[str], weight_col: str = "weight") -> pd.DataFrame:
    """One row per distinct ``cols`` tuple with ``weight_col`` = the number of customers sharing it.

    If ``df`` already has ``weight_col`` (it is itself compressed), the weights are summed instead of counted.
    Columns: ``cols`` then ``weight_col``; rows sorted by ``cols``. Raises ``DataError`` naming the missing columns.
    """
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"Cannot compress: missing columns {missing}; expected {list(cols)} in {list(df.columns)}.")
    fast = _count_numeric(df, cols, weight_col)
    if fast is not None:
        return fast
    grouped = df.groupby(list(cols), sort=True)
    counts = grouped[weight_col].sum() if weight_col in df.columns else grouped.size()
    return counts.rename(weight_col).reset_index()


def _count_numeric(df: pd.DataFrame, cols: Sequence[str], weight_col: str) -> pd.DataFrame | None:
    """compress of plain numeric columns without missing values and weights, through one integer key per row.

    Each column is coded by its sorted distinct values, the codes are combined into one int64 key whose order is
    the lexicographic order of the tuples, and the keys are counted. None when the fast path does not apply.
    """
    if weight_col in df.columns or not cols or not all(
        isinstance(df[c].dtype, np.dtype) and df[c].dtype.kind in "biuf" for c in cols
    ):
        return None
    uniques, codes = [], []
    for c in cols:
        values = df[c].to_numpy()
        if values.dtype.kind == "f" and np.isnan(values).any():
            return None  # groupby drops missing keys
        u, code = distinct(values, sort=True)
        uniques.append(u)
        codes.append(code)
    if float(np.prod([float(len(u)) for u in uniques])) >= _MAX_KEY:
        return None
    key = codes[0]
    for u, code in zip(uniques[1:], codes[1:], strict=True):
        key = key * len(u) + code
    keys, counts = np.unique(key, return_counts=True)
    out: dict[str, FloatArray] = {}
    for c, u in zip(reversed(cols), reversed(uniques), strict=True):
        out[c] = u[keys % len(u)]
        keys = keys // len(u)
    result = pd.DataFrame({c: out[c] for c in cols})
    result[weight_col] = counts.astype(np.int64)
    return result
