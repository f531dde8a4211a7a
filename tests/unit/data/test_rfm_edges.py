"""RFM edge cases with hand-computed values: one-time and late buyers, same-day purchases, period boundaries."""
from __future__ import annotations

import datetime as dt

import pytest

from gda_clv.data import rfm

D = dt.date


def _frame(spark, rows: list[tuple[str, dt.date, float]]):
    return spark.createDataFrame(rows, "customer_id string, transaction_date date, amount double")


def _by_customer(df) -> dict[str, dict]:
    return {row["customer_id"]: row.asDict() for row in df.collect()}


def _weights(groups, keys: tuple[str, ...]) -> dict[tuple, int]:
    return {tuple(row[k] for k in keys): row["weight"] for row in groups.collect()}


def test_daily_edge_cases(spark) -> None:
    rows = [
        ("one", D(2021, 1, 3), 5.0),  # one-time buyer
        ("late", D(2021, 1, 15), 9.0),  # only purchase after calibration end
        ("multi", D(2021, 1, 2), 10.0),
        ("multi", D(2021, 1, 2), 5.0),  # two purchases on one day
        ("multi", D(2021, 1, 6), 20.0),
        ("multi", D(2021, 1, 6), 4.0),
        ("multi", D(2021, 1, 10), 6.0),  # on the calibration end day: calibration
        ("multi", D(2021, 1, 12), 30.0),
        ("multi", D(2021, 1, 12), 10.0),
    ]
    got = _by_customer(rfm.rfm_features(_frame(spark, rows), D(2021, 1, 10), D(2021, 1, 20), "D", 1))
    assert set(got) == {"one", "late", "multi"}
    assert got["one"] == {
        "customer_id": "one", "as_of": D(2021, 1, 20), "calibration_end": D(2021, 1, 10),
        "frequency_cal": 0.0, "recency_cal": 0.0, "T_cal": 7.0, "monetary_value_cal": 0.0,
        "frequency_holdout": 0.0, "monetary_value_holdout": 0.0, "duration_holdout": 10.0,
        "frequency": 0.0, "recency": 0.0, "T": 17.0, "monetary_value": 0.0,
    }
    late = got["late"]
    assert [late[c] for c in rfm.CAL_HOLDOUT_COLUMNS] == [None] * 7
    assert (late["frequency"], late["recency"], late["T"], late["monetary_value"]) == (0.0, 0.0, 5.0, 0.0)
    multi = got["multi"]
    assert [multi[c] for c in rfm.CAL_HOLDOUT_COLUMNS] == [2.0, 8.0, 8.0, 15.0, 1.0, 40.0, 10.0]
    assert [multi[c] for c in rfm.SUMMARY_COLUMNS] == [3.0, 10.0, 18.0, pytest.approx(70.0 / 3)]


def test_weeks_are_monday_to_sunday(spark) -> None:
    rows = [
        ("w", D(2021, 1, 3), 1.0),  # Sunday: week A
        ("w", D(2021, 1, 4), 2.0),  # Monday: week A+1
        ("w", D(2021, 1, 9), 4.0),  # Saturday of A+1, after calibration end: holdout
        ("w", D(2021, 1, 20), 8.0),  # week A+3
    ]
    got = _by_customer(rfm.rfm_features(_frame(spark, rows), D(2021, 1, 6), D(2021, 1, 31), "W", 1))["w"]
    assert [got[c] for c in rfm.CAL_HOLDOUT_COLUMNS] == [1.0, 1.0, 1.0, 2.0, 2.0, 6.0, 3.0]
    assert [got[c] for c in rfm.SUMMARY_COLUMNS] == [2.0, 3.0, 4.0, 7.0]


def test_months_with_mid_month_calibration_end_and_multiplier(spark) -> None:
    rows = [
        ("m", D(2021, 1, 20), 1.0),
        ("m", D(2021, 3, 10), 2.0),
        ("m", D(2021, 3, 20), 4.0),  # same month as calibration end, after it: holdout
        ("m", D(2021, 6, 30), 8.0),
    ]
    got = _by_customer(rfm.rfm_features(_frame(spark, rows), D(2021, 3, 15), D(2021, 6, 30), "M", 3))["m"]
    assert [got[c] for c in rfm.CAL_HOLDOUT_COLUMNS] == [1.0, pytest.approx(2 / 3), pytest.approx(2 / 3), 2.0,
                                                         2.0, 6.0, 1.0]
    assert [got[c] for c in rfm.SUMMARY_COLUMNS] == [2.0, pytest.approx(5 / 3), pytest.approx(5 / 3), 7.0]


def test_filtered_cal_and_compressed_groups(spark) -> None:
    rows = [
        ("a", D(2021, 1, 1), 10.0), ("a", D(2021, 1, 5), 10.0), ("a", D(2021, 1, 15), 3.0),
        ("b", D(2021, 1, 1), 7.0), ("b", D(2021, 1, 5), 10.0), ("b", D(2021, 1, 15), 3.0),  # same as a but mv
        ("c", D(2021, 1, 1), 4.0),  # one-time buyer: not in filtered_cal
        ("d", D(2021, 1, 12), 4.0),  # holdout only: not in calibration groups
    ]
    features = rfm.rfm_features(_frame(spark, rows), D(2021, 1, 10), D(2021, 1, 20), "D", 1)
    assert sorted(r["customer_id"] for r in rfm.filtered_cal(features).collect()) == ["a", "b"]
    assert _weights(rfm.frequency_groups(features), rfm.FREQUENCY_GROUP_KEYS) == {
        (1.0, 4.0, 9.0, 10.0, 1.0): 2,
        (0.0, 0.0, 9.0, 10.0, 0.0): 1,
    }
    assert _weights(rfm.monetary_groups(features), rfm.MONETARY_GROUP_KEYS) == {(1.0, 10.0, 1.0, 3.0): 2}


@pytest.mark.parametrize(
    ("freq", "mult", "message"),
    [
        ("Q", 1, "freq must be one of D, W, M (as in lifetimes), got 'Q'"),
        ("D", 0, "freq_multiplier must be a positive integer, got 0"),
        ("W", 1.5, "freq_multiplier must be a positive integer, got 1.5"),
    ],
)
def test_bad_freq_is_refused(freq: str, mult, message: str) -> None:
    with pytest.raises(ValueError) as err:
        rfm.check_freq(freq, mult)
    assert str(err.value) == message


def test_calibration_end_must_precede_observation_end(spark) -> None:
    with pytest.raises(ValueError) as err:
        rfm.calibration_and_holdout(_frame(spark, [("a", D(2021, 1, 1), 1.0)]), D(2021, 2, 1), D(2021, 2, 1))
    assert str(err.value) == "calibration_end (2021-02-01) must be before observation_end (2021-02-01)"


@pytest.mark.parametrize(
    ("day", "freq", "expected"),
    [(D(1970, 1, 1), "D", 0), (D(1969, 12, 29), "W", 0), (D(1970, 1, 4), "W", 0), (D(1970, 1, 5), "W", 1),
     (D(1969, 12, 28), "W", -1), (D(1997, 1, 31), "M", 1997 * 12)],
)
def test_period_index_python_and_spark_agree(spark, day: dt.date, freq: str, expected: int) -> None:
    from pyspark.sql import functions as F

    assert rfm.period_index_of(day, freq) == expected
    assert spark.range(1).select(rfm.period_index(F.lit(day), freq).alias("p")).first()["p"] == expected
