"""Compress per-customer rows to one row per distinct tuple with a customer count (the fit's sufficient statistics)."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from gda_clv.errors import DataError


def compress(df: pd.DataFrame, cols: Sequence[str], weight_col: str = "weight") -> pd.DataFrame:
    """One row per distinct ``cols`` tuple with ``weight_col`` = the number of customers sharing it.

    If ``df`` already has ``weight_col`` (it is itself compressed), the weights are summed instead of counted.
    Columns: ``cols`` then ``weight_col``; rows sorted by ``cols``.
    """
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"Cannot compress: missing columns {missing}; expected {list(cols)} in {list(df.columns)}.")
    grouped = df.groupby(list(cols), sort=True)
    counts = grouped[weight_col].sum() if weight_col in df.columns else grouped.size()
    return counts.rename(weight_col).reset_index()
