"""compress: one row per distinct tuple with customer counts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gda_clv.errors import DataError
from gda_clv.models.compress import compress, distinct


def test_counts_customers_per_tuple_and_recompresses_by_summing() -> None:
    df = pd.DataFrame(
        {"frequency": [0, 0, 2, 2, 2], "recency": [0.0, 0.0, 5.0, 5.0, 6.0], "T": [9.0, 8.0, 9.0, 9.0, 9.0]}
    )
    groups = compress(df, ["frequency", "recency", "T"])
    assert groups.to_dict("list") == {
        "frequency": [0, 0, 2, 2], "recency": [0.0, 0.0, 5.0, 6.0], "T": [8.0, 9.0, 9.0, 9.0], "weight": [1, 1, 2, 1],
    }
    again = compress(groups, ["frequency"])
    assert again.to_dict("list") == {"frequency": [0, 2], "weight": [2, 3]}


def test_missing_column_is_named() -> None:
    with pytest.raises(DataError) as err:
        compress(pd.DataFrame({"frequency": [1]}), ["frequency", "T"])
    assert str(err.value) == "Cannot compress: missing columns ['T']; expected ['frequency', 'T'] in ['frequency']."


def _groupby(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.groupby(cols, sort=True).size().rename("weight").reset_index()


def test_numeric_fast_path_equals_groupby() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"frequency": rng.integers(0, 5, 500), "recency": rng.integers(0, 7, 500) / 2.0,
                       "T": rng.integers(3, 9, 500).astype(float)})
    cols = ["frequency", "recency", "T"]
    got = compress(df, cols)
    assert got.equals(_groupby(df, cols)) and got["frequency"].dtype == np.int64 and got["weight"].sum() == 500


def test_missing_values_and_text_keys_fall_back_to_groupby() -> None:
    df = pd.DataFrame({"frequency": [1.0, np.nan, 1.0, 2.0], "T": [3.0, 3.0, 3.0, 4.0], "id": ["a", "b", "a", "c"]})
    assert compress(df, ["frequency", "T"]).to_dict("list") == {"frequency": [1.0, 2.0], "T": [3.0, 4.0],
                                                               "weight": [2, 1]}
    assert compress(df, ["id"]).equals(_groupby(df, ["id"]))


def test_distinct_indexes_each_value_and_keeps_nan() -> None:
    values = np.array([2.0, np.nan, 1.0, 2.0, np.nan])
    uniques, codes = distinct(values)
    assert np.array_equal(uniques[codes], values, equal_nan=True) and len(uniques) == 3
