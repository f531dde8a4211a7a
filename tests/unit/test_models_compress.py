"""compress: one row per distinct tuple with customer counts."""
from __future__ import annotations

import pandas as pd
import pytest

from gda_clv.errors import DataError
from gda_clv.models.compress import compress


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
