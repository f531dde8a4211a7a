"""The fix prepare names for the dominant quarantine reason, and its degenerate-data checks (plain values, no Spark)."""
from __future__ import annotations

import datetime as dt

import pytest

from gda_clv.data import transactions as tx
from gda_clv.errors import DataError
from gda_clv.pipelines import _advice

MAPPING = tx.ColumnMapping(customer_id="client", transaction_date="day", amount="total", transaction_id="order")


def test_the_dominant_reason_is_the_most_frequent_then_the_first_checked() -> None:
    assert _advice.dominant({"non_positive_amount": 3, "unparseable_date": 5}) == "unparseable_date"
    assert _advice.dominant({"non_positive_amount": 2, "null_customer_id": 2}) == "null_customer_id"


@pytest.mark.parametrize(
    ("values", "pattern"),
    [(["12/31/2024", "01/15/2025"], "MM/dd/yyyy"), (["31.12.2024"], "dd.MM.yyyy"), (["20240131"], "yyyyMMdd"),
     (["yesterday"], None)],
)
def test_unparseable_dates_suggest_the_pattern_they_match(values: list[str], pattern: str | None) -> None:
    fix = _advice.fix_for(tx.UNPARSEABLE_DATE, [("a", v, "1") for v in values], MAPPING, "yyyy-MM-dd")
    assert fix is not None and "data.source.date_format ('yyyy-MM-dd')" in fix
    assert (f"--set data.source.date_format={pattern})" in fix) if pattern else ("these look like" not in fix)


@pytest.mark.parametrize(
    ("reason", "rows", "expected"),
    [
        (tx.NULL_AMOUNT, [("a", "2021-01-01", None)],
         "rows like ('a', '2021-01-01', None) (customer_id, transaction_date, amount): check that "
         "data.source.columns.amount names the column with the amount, and that data.source.options (sep, header) "
         "match the file."),
        (tx.UNPARSEABLE_AMOUNT, [("a", "2021-01-01", "12,50")],
         "amounts in 'total' like '12,50' are not numbers: check that data.source.columns.amount names the amount "
         "column; amounts must be plain numbers with a '.' decimal point (no currency sign or thousands separator)."),
        (tx.NON_POSITIVE_AMOUNT, [("a", "2021-01-01", "0"), ("b", "2021-01-01", "0.00")],
         "amounts in 'total' like '0', '0.00' are zero: set data.keep_zero_amounts: true to count $0 orders as "
         "purchases."),
        (tx.NON_POSITIVE_AMOUNT, [("a", "2021-01-01", "0"), ("b", "2021-01-01", "-3")], None),
        (tx.NON_INTEGRAL_CUSTOMER_ID, [("10.5", "2021-01-01", "1")],
         "customer ids in 'client' like '10.5' are not whole numbers a float holds exactly: point "
         "data.source.columns.customer_id at the id column, and export the ids as text or integers."),
        (tx.DUPLICATE_TRANSACTION_ID, [("a", "2021-01-01", "1")],
         "ids in 'order' repeat (customers 'a'): check that data.source.columns.transaction_id names a "
         "per-purchase id, or set it to null."),
    ],
    ids=["null-amount", "decimal-comma", "zeros", "returns", "float-id", "duplicates"],
)
def test_each_reason_names_its_fix(reason: str, rows: list[_advice.RawRow], expected: str | None) -> None:
    assert _advice.fix_for(reason, rows, MAPPING, None) == expected


def test_without_a_specific_fix_the_error_says_to_raise_the_share() -> None:
    error = _advice.share_error({"non_positive_amount": 3}, 10, 0.05, [("a", "2021-01-01", "-1")], MAPPING, None)
    assert str(error) == (
        "3 of 10 rows (30.0%) failed validation (non_positive_amount: 3), above data.quarantine_max_share 5.0%; "
        "nothing was written. Most are non_positive_amount (like '-1'). Fix the source, or raise "
        "data.quarantine_max_share if these rows are expected."
    )


@pytest.mark.parametrize(
    ("customers", "repeat", "start"),
    [(0, 0, "only 0 customers bought"), (1, 1, "only 1 customer bought"), (5, 0, "nobody of the 5"),
     (9, 3, "only 3 of the 9 calibration customers bought again")],
)
def test_degenerate_calibration_data_is_refused(customers: int, repeat: int, start: str) -> None:
    with pytest.raises(DataError) as err:
        _advice.check_fittable(customers, repeat, dt.date(2021, 1, 31))
    assert str(err.value).startswith(start)
    assert str(err.value).endswith("set data.calibration_end or a smaller data.holdout_days.")
    _advice.check_fittable(5, 4, dt.date(2021, 1, 31))  # enough: no error
