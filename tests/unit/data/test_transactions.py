"""Validation of raw transaction logs: column checks, types, quarantine reasons, duplicates, outliers, CDNOW lines."""
from __future__ import annotations

import datetime as dt

import pytest

from gda_clv.data import transactions as tx
from gda_clv.errors import DataError

MAPPING = tx.ColumnMapping(customer_id="cust", transaction_date="day", amount="value")
STRING_SCHEMA = "cust string, day string, value string, note string"


def test_missing_column_names_the_key_and_the_columns_found(spark) -> None:
    raw = spark.createDataFrame([("a", "2021-01-01", "1.0", "x")], "cust string, date string, value string, n string")
    with pytest.raises(DataError) as err:
        tx.validate_transactions(raw, MAPPING)
    assert str(err.value) == (
        "Source column 'day' (data.source.columns.transaction_date) not found; the source has columns: "
        "cust, date, value, n. Set data.source.columns.transaction_date to the column that holds the "
        "transaction_date."
    )


def test_every_bad_row_is_quarantined_with_its_reason_and_raw_values(spark) -> None:
    rows = [
        ("a", "2021-01-01", "10.5", "ok"),
        (" b ", " 2021-01-02 ", " 3 ", "ok, trimmed"),
        ("c", "2021-01-03 13:45:00", "1e2", "ok, time of day dropped"),
        (None, "2021-01-01", "1.0", "no customer"),
        ("  ", "2021-01-01", "1.0", "blank customer"),
        ("d", None, "1.0", "no date"),
        ("e", "2021-02-30", "1.0", "impossible date"),
        ("f", "yesterday", "1.0", "not a date"),
        ("g", "2021-01-01", None, "no amount"),
        ("h", "2021-01-01", "$12", "not a number"),
        ("i", "2021-01-01", "NaN", "not a number"),
        ("j", "2021-01-01", "0", "zero"),
        ("k", "2021-01-01", "-4.5", "a return"),
        ("l", "2021-03-01", "2.0", "after observation end"),
    ]
    raw = spark.createDataFrame(rows, STRING_SCHEMA)
    result = tx.validate_transactions(raw, MAPPING, observation_end=dt.date(2021, 2, 28))
    clean = sorted(tuple(r) for r in result.clean.collect())
    assert clean == [
        ("a", dt.date(2021, 1, 1), 10.5),
        ("b", dt.date(2021, 1, 2), 3.0),
        ("c", dt.date(2021, 1, 3), 100.0),
    ]
    assert result.clean.dtypes == [("customer_id", "string"), ("transaction_date", "date"), ("amount", "double")]
    quarantined = sorted((tuple(r) for r in result.quarantined.collect()), key=str)
    assert quarantined == sorted([
        (None, "2021-01-01", "1.0", "null_customer_id"),
        ("  ", "2021-01-01", "1.0", "null_customer_id"),
        ("d", None, "1.0", "null_transaction_date"),
        ("e", "2021-02-30", "1.0", "unparseable_date"),
        ("f", "yesterday", "1.0", "unparseable_date"),
        ("g", "2021-01-01", None, "null_amount"),
        ("h", "2021-01-01", "$12", "unparseable_amount"),
        ("i", "2021-01-01", "NaN", "unparseable_amount"),
        ("j", "2021-01-01", "0", "non_positive_amount"),
        ("k", "2021-01-01", "-4.5", "non_positive_amount"),
    ], key=str)
    assert result.clean.count() + result.quarantined.count() == len(rows) - 1  # "l" is left out, not bad


def test_values_are_trimmed_of_ascii_whitespace_only(spark) -> None:
    rows = [
        ("\t\x0b\f b\r\n", " \t2021-01-02\n", "\f3\x0b", "every \\s character around the values"),
        ("c d", "2021-01-03", "1", "whitespace inside is kept"),
        ("\u00a0e\u00a0", "2021-01-04", "2", "a no-break space is not \\s: kept"),
        ("\t\r\n\x0b\f ", "2021-01-05", "4", "only \\s characters: blank"),
    ]
    result = tx.validate_transactions(spark.createDataFrame(rows, STRING_SCHEMA), MAPPING)
    assert sorted(tuple(r) for r in result.clean.collect()) == [
        ("b", dt.date(2021, 1, 2), 3.0), ("c d", dt.date(2021, 1, 3), 1.0), ("\u00a0e\u00a0", dt.date(2021, 1, 4), 2.0),
    ]
    assert [(r["customer_id"], r["reason"]) for r in result.quarantined.collect()] == [
        ("\t\r\n\x0b\f ", "null_customer_id")
    ]


def test_date_format_and_typed_sources(spark) -> None:
    raw = spark.createDataFrame([("1", "19970101", 5), ("2", "1997-01-01", 5)], "cust string, day string, value int")
    result = tx.validate_transactions(raw, MAPPING, date_format="yyyyMMdd")
    assert [tuple(r) for r in result.clean.collect()] == [("1", dt.date(1997, 1, 1), 5.0)]
    assert [tuple(r) for r in result.quarantined.collect()] == [("2", "1997-01-01", "5", "unparseable_date")]

    stamped = spark.createDataFrame(
        [(7, dt.datetime(2021, 5, 6, 23, 59), 1.25)], "cust long, day timestamp, value double"
    )
    clean = tx.validate_transactions(stamped, MAPPING).clean.collect()
    assert [tuple(r) for r in clean] == [("7", dt.date(2021, 5, 6), 1.25)]


def test_rows_after_the_observation_end_are_left_out_not_quarantined(spark) -> None:
    rows = [("a", "2021-02-28", "1"), ("a", "2021-03-01", "1"), ("b", "2021-03-02", "-1")]
    raw = spark.createDataFrame(rows, "cust string, day string, value string")
    parsed = tx.parse_transactions(raw, MAPPING, observation_end=dt.date(2021, 2, 28))
    result = tx.split_parsed(parsed)
    assert [r["transaction_date"] for r in result.clean.collect()] == [dt.date(2021, 2, 28)]  # the day itself kept
    assert result.quarantined.count() == 0  # outside the window, even with a bad amount: not judged
    counts = tx.validation_counts(parsed)
    assert (counts.rows, counts.by_reason, counts.excluded) == (3, {}, {"after_observation_end": 2})


def test_missing_columns_are_all_named_in_one_message(spark) -> None:
    raw = spark.createDataFrame([("a", "2021-01-01", "1.0")], "client string, date string, total string")
    with pytest.raises(DataError) as err:
        tx.validate_transactions(raw, MAPPING)
    assert str(err.value) == (
        "Source columns 'cust' (data.source.columns.customer_id); 'day' (data.source.columns.transaction_date); "
        "'value' (data.source.columns.amount) not found; the source has columns: client, date, total. Set "
        "data.source.columns.customer_id, data.source.columns.transaction_date and data.source.columns.amount to "
        "the columns that hold them."
    )


@pytest.mark.parametrize(("header", "shown"), [("cust;day;value", ";"), ("cust\tday\tvalue", "\\t")])
def test_a_file_read_as_one_delimited_column_names_the_delimiter_option(spark, header, shown) -> None:
    raw = spark.createDataFrame([("a;2021-01-01;1.0",)], [header])
    with pytest.raises(DataError) as err:
        tx.validate_transactions(raw, MAPPING)
    assert str(err.value).endswith(
        f"It was read as one column whose name holds '{shown}': the file is delimited by it. "
        f"Set the reader's delimiter: --set 'data.source.options={{sep: \"{shown}\"}}'."
    )


def test_implausible_dates_and_amounts_are_quarantined_within_the_bounds(spark) -> None:
    rows = [("a", "2021-01-01", "10"), ("b", "0099-05-01", "10"), ("c", "1850-01-01", "10"),
            ("d", "2021-01-01", "1e308"), ("e", "1970-01-01", "1000000000")]
    raw = spark.createDataFrame(rows, "cust string, day string, value string")
    result = tx.validate_transactions(raw, MAPPING, earliest_date=dt.date(1970, 1, 1), max_amount=1e9)
    assert sorted(r["customer_id"] for r in result.clean.collect()) == ["a", "e"]  # both bounds are inclusive
    assert sorted(tuple(r) for r in result.quarantined.collect()) == [
        ("b", "0099-05-01", "10", "implausible_date"), ("c", "1850-01-01", "10", "implausible_date"),
        ("d", "2021-01-01", "1e308", "implausible_amount"),
    ]
    unbounded = tx.validate_transactions(raw, MAPPING)
    assert unbounded.quarantined.count() == 0


def test_float_customer_ids_are_read_as_integers_or_quarantined(spark) -> None:
    rows = [(10020.0, "2021-01-01", 1.0), (10020.5, "2021-01-01", 1.0), (9.007199254743e15, "2021-01-01", 1.0),
            (float("nan"), "2021-01-01", 1.0)]
    raw = spark.createDataFrame(rows, "cust double, day string, value double")
    parsed = tx.parse_transactions(raw, MAPPING)
    result = tx.split_parsed(parsed)
    assert [r["customer_id"] for r in result.clean.collect()] == ["10020"]
    assert sorted((r["customer_id"], r["reason"]) for r in result.quarantined.collect()) == [
        ("10020.5", "non_integral_customer_id"), ("9.007199254743E15", "imprecise_customer_id"),
        ("NaN", "null_customer_id"),  # pandas' missing value
    ]
    counts = tx.validation_counts(parsed)
    assert (counts.integral_float_ids, counts.integral_float_id_example) == (1, "10020.0")

    text = [(" 10020.0 ",), ("10020",), ("10020.50",), ("9.007199254743E15",), ("A-1.0",), ("1E5",), ("7.00",)]
    raw = spark.createDataFrame([(cid, "2021-01-01", "1") for (cid,) in text], "cust string, day string, value string")
    parsed = tx.parse_transactions(raw, MAPPING)
    result = tx.split_parsed(parsed)
    assert sorted(r["customer_id"] for r in result.clean.collect()) == ["10020", "10020", "1E5", "7", "A-1.0"]
    assert sorted((r["customer_id"], r["reason"]) for r in result.quarantined.collect()) == [
        ("10020.50", "non_integral_customer_id"), ("9.007199254743E15", "imprecise_customer_id"),
    ]
    counts = tx.validation_counts(parsed)
    assert (counts.integral_float_ids, counts.integral_float_id_example) == (2, " 10020.0 ")


def test_zero_amounts_can_count_as_purchases_but_returns_never_do(spark) -> None:
    rows = [("a", "2021-01-01", "0"), ("a", "2021-01-02", "-5"), ("a", "2021-01-03", "2")]
    raw = spark.createDataFrame(rows, "cust string, day string, value string")
    strict = tx.validate_transactions(raw, MAPPING)
    assert sorted(r["amount"] for r in strict.quarantined.collect()) == ["-5", "0"]
    lenient = tx.validate_transactions(raw, MAPPING, keep_zero_amounts=True)
    assert sorted(r["amount"] for r in lenient.clean.collect()) == [0.0, 2.0]
    assert [(r["amount"], r["reason"]) for r in lenient.quarantined.collect()] == [("-5", "non_positive_amount")]


def _amounts(spark):
    rows = [(f"c{i}", dt.date(2021, 1, 1), float(i)) for i in range(1, 101)] + [("c100", dt.date(2021, 1, 2), 1.0)]
    return spark.createDataFrame(rows, "customer_id string, transaction_date date, amount double")


def test_outlier_rule_none_leaves_data_alone(spark) -> None:
    df = _amounts(spark)
    out, report = tx.apply_outlier_rule(df)
    assert out is df and report == {"rule": "none"}


def test_outlier_rule_cap_at_quantile(spark) -> None:
    out, report = tx.apply_outlier_rule(_amounts(spark), "cap", 0.9)
    assert report == {"rule": "cap", "quantile": 0.9, "threshold": 90.0, "rows_capped": 10}
    assert out.agg({"amount": "max"}).first()[0] == 90.0
    assert out.count() == 101


def test_outlier_rule_drop_customers_above_quantile_of_totals(spark) -> None:
    out, report = tx.apply_outlier_rule(_amounts(spark), "drop_customers", 0.95)
    assert report == {
        "rule": "drop_customers", "quantile": 0.95, "threshold": 95.0, "customers_dropped": 5, "rows_dropped": 6,
    }
    assert out.count() == 95


def test_unknown_outlier_rule(spark) -> None:
    with pytest.raises(ValueError) as err:
        tx.apply_outlier_rule(_amounts(spark), "winsorise")
    assert str(err.value) == "rule must be one of none, cap, drop_customers, got 'winsorise'"


def test_cdnow_lines(spark) -> None:
    lines = [" customer_id  date number_of_cds  dollar_value\r", " 00001 19970101  1   11.77\r", "",
             " 00002 19970112  5   77.00", "00003 19970102"]
    frame = tx.read_cdnow_lines(spark.createDataFrame([(line,) for line in lines], "value string"))
    assert [tuple(r) for r in frame.collect()] == [
        ("00001", "19970101", "1", "11.77"),
        ("00002", "19970112", "5", "77.00"),
        ("00003", "19970102", None, None),
    ]
    result = tx.validate_transactions(frame, tx.ColumnMapping(), date_format=tx.CDNOW_DATE_FORMAT)
    assert [tuple(r) for r in result.clean.collect()] == [
        ("00001", dt.date(1997, 1, 1), 11.77), ("00002", dt.date(1997, 1, 12), 77.0),
    ]
    assert [r["reason"] for r in result.quarantined.collect()] == ["null_amount"]


def test_identical_rows_are_all_purchases_without_a_transaction_id(spark) -> None:
    rows = [("a", "2021-01-01", "10", "o1"), ("a", "2021-01-01", "10", "o2"), ("a", "2021-01-01", "10", "o2")]
    result = tx.validate_transactions(spark.createDataFrame(rows, STRING_SCHEMA), MAPPING)
    assert result.clean.count() == 3 and result.quarantined.count() == 0


def test_repeated_transaction_ids_are_quarantined_and_the_clean_copy_is_kept(spark) -> None:
    rows = [
        ("a", "2021-01-01", "10", "o1"),
        ("a", "2021-01-01", "10", "o1"),  # re-delivered row
        ("a", "2021-01-01", "10", "o2"),  # a second, equal order: a purchase
        ("b", "2021-01-02", "-1", "o3"),  # a bad copy first by raw values ...
        ("b", "2021-01-02", "5", "o3"),  # ... the clean copy is kept
        ("c", "2021-01-03", "7", None),  # no id: a purchase
        ("c", "2021-01-03", "7", None),
    ]
    mapping = tx.ColumnMapping(customer_id="cust", transaction_date="day", amount="value", transaction_id="note")
    result = tx.validate_transactions(spark.createDataFrame(rows, STRING_SCHEMA), mapping)
    assert sorted(tuple(r) for r in result.clean.collect()) == [
        ("a", dt.date(2021, 1, 1), 10.0), ("a", dt.date(2021, 1, 1), 10.0), ("b", dt.date(2021, 1, 2), 5.0),
        ("c", dt.date(2021, 1, 3), 7.0), ("c", dt.date(2021, 1, 3), 7.0),
    ]
    assert sorted(tuple(r) for r in result.quarantined.collect()) == [
        ("a", "2021-01-01", "10", "duplicate_transaction_id"), ("b", "2021-01-02", "-1", "non_positive_amount"),
    ]


def test_a_missing_transaction_id_column_names_the_key(spark) -> None:
    raw = spark.createDataFrame([("a", "2021-01-01", "1", "x")], STRING_SCHEMA)
    with pytest.raises(DataError, match=r"'order' \(data.source.columns.transaction_id\) not found"):
        tx.validate_transactions(raw, tx.ColumnMapping("cust", "day", "value", transaction_id="order"))
