"""Input-data levels of a window and the tracking plot's counts, on tiny frames (local Spark)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gda_clv.monitoring import inputs, tracking

D = dt.date


@pytest.fixture()
def parsed(spark):
    """parse_transactions-shaped rows: a is new on 1/1, b on 1/3; one quarantined row and one undated one."""
    rows = [
        ("a", D(2024, 1, 1), 10.0, None), ("a", D(2024, 1, 1), 5.0, None), ("a", D(2024, 1, 3), 20.0, None),
        ("b", D(2024, 1, 3), 30.0, None), ("b", D(2024, 1, 4), -1.0, "non_positive_amount"),
        (None, None, None, "unparseable_date"), ("a", D(2024, 1, 9), 40.0, None),
    ]
    return spark.createDataFrame(rows, "customer_id string, transaction_date date, amount double, reason string")


def test_window_stats(parsed):
    first = inputs.first_purchase_days(parsed)
    stats = inputs.window_stats(parsed, first, inputs.Window("w", D(2024, 1, 1), D(2024, 1, 4)))
    assert (stats.rows, stats.transactions) == (5, 4)
    assert stats.transactions_per_day == pytest.approx(4 / 4)
    # customer-days a/1, a/3, b/3: a/1 and b/3 are first purchase days
    assert stats.new_customer_share == pytest.approx(2 / 3)
    assert stats.quarantine_share == pytest.approx(1 / 5)
    later = inputs.window_stats(parsed, first, inputs.Window("later", D(2024, 1, 5), D(2024, 1, 10)))
    assert (later.transactions_per_day, later.new_customer_share, later.quarantine_share) == (1 / 6, 0.0, 0.0)
    assert inputs.change("transactions_per_day", later, stats) == pytest.approx(1 / 6 - 1)
    assert inputs.change("new_customer_share", later, stats) == pytest.approx(-2 / 3)
    assert [r["amount"] for r in inputs.clean_amounts(parsed, later.window).collect()] == [40.0]


class HalfPerPeriod:
    """A model expecting 0.5 repeat purchases per period from a customer with no history."""

    def expected_purchases(self, t, frequency, recency, T):
        assert not np.any(frequency) and not np.any(recency) and not np.any(T)
        return 0.5 * np.asarray(t, dtype=float)


def test_tracking_counts_and_expectation(parsed):
    clean = parsed.where("reason is null")
    cohorts, repeats = tracking.period_counts(clean, "D", D(2024, 1, 9))
    day = (D(2024, 1, 1) - D(1970, 1, 1)).days  # rfm's day index
    assert cohorts == {day: 1, day + 2: 1}
    assert repeats == {day + 2: 1, day + 8: 1}  # a's second day and a's third; two rows on 1/1 are one period
    track = tracking.tracking(cohorts, repeats, HalfPerPeriod(), D(2024, 1, 1), D(2024, 1, 9), "D")
    assert track.weeks == (D(2024, 1, 8), D(2024, 1, 9))
    assert track.actual == (1.0, 2.0)
    assert track.expected == pytest.approx((0.5 * 7 + 0.5 * 5, 0.5 * 8 + 0.5 * 6))
