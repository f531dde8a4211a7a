"""The parsed frame prepare caches: raw strings on quarantined rows only, and its one-pass validation counts."""
from __future__ import annotations

import datetime as dt

from gda_clv.data import transactions as tx

MAPPING = tx.ColumnMapping(customer_id="cust", transaction_date="day", amount="value")
ROWS = [
    (" a ", "2021-01-03", "2"),
    ("a", "2021-01-01", "1.5"),
    ("b", "2021-02-28", "4"),
    (None, "2021-01-02", "1"),
    ("c", "2021-01-02", "-1"),
    ("d", "2021-03-01", "3"),
    ("e", "2021-02-05", "oops"),
]


def _parsed(spark, observation_end: dt.date | None = dt.date(2021, 2, 28)):
    raw = spark.createDataFrame(ROWS, "cust string, day string, value string")
    return tx.parse_transactions(raw, MAPPING, observation_end=observation_end)


def test_raw_strings_are_kept_for_quarantined_rows_only(spark) -> None:
    rows = sorted((tuple(r) for r in _parsed(spark).collect()), key=str)
    assert rows == sorted([
        ("a", dt.date(2021, 1, 3), 2.0, None, None, None, None),
        ("a", dt.date(2021, 1, 1), 1.5, None, None, None, None),
        ("b", dt.date(2021, 2, 28), 4.0, None, None, None, None),
        (None, dt.date(2021, 1, 2), 1.0, None, "2021-01-02", "1", "null_customer_id"),
        ("c", dt.date(2021, 1, 2), -1.0, "c", "2021-01-02", "-1", "non_positive_amount"),
        ("d", dt.date(2021, 3, 1), 3.0, "d", "2021-03-01", "3", "after_observation_end"),
        ("e", dt.date(2021, 2, 5), None, "e", "2021-02-05", "oops", "unparseable_amount"),
    ], key=str)


def test_validation_counts_in_one_aggregation(spark) -> None:
    counts = tx.validation_counts(_parsed(spark))
    assert counts == tx.ValidationCounts(
        rows=7,
        by_reason={"non_positive_amount": 1, "null_customer_id": 1, "unparseable_amount": 1},
        clean_rows=3,
        first_clean=dt.date(2021, 1, 1),
        last_clean=dt.date(2021, 2, 28),
        excluded={"after_observation_end": 1},
    )
    open_ended = tx.validation_counts(_parsed(spark, observation_end=None))
    assert (open_ended.clean_rows, open_ended.last_clean) == (4, dt.date(2021, 3, 1))
    assert open_ended.excluded == {}


def test_validation_counts_without_clean_rows(spark) -> None:
    raw = spark.createDataFrame([("a", "2021-01-01", "0")], "cust string, day string, value string")
    counts = tx.validation_counts(tx.parse_transactions(raw, MAPPING))
    assert counts == tx.ValidationCounts(1, {"non_positive_amount": 1}, 0, None, None)
