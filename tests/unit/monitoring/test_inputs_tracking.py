"""Input-data levels of a window and the tracking plot's counts, on tiny frames (local Spark)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gda_clv.data.rfm import period_index_of
from gda_clv.errors import DataError
from gda_clv.monitoring import inputs, tracking

D = dt.date


def _days(parsed, freq):
    return inputs.days_of(inputs.daily_summary(parsed, freq), freq)


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
    days = _days(parsed, "D")
    stats = inputs.window_stats(days, inputs.Window("w", D(2024, 1, 1), D(2024, 1, 4)))
    assert (stats.rows, stats.transactions) == (5, 4)
    assert stats.transactions_per_day == pytest.approx(4 / 4)
    # customer-days a/1, a/3, b/3: a/1 and b/3 are first purchase days
    assert stats.new_customer_share == pytest.approx(2 / 3)
    assert stats.quarantine_share == pytest.approx(1 / 5)
    later = inputs.window_stats(days, inputs.Window("later", D(2024, 1, 5), D(2024, 1, 10)))
    assert (later.transactions_per_day, later.new_customer_share, later.quarantine_share) == (1 / 6, 0.0, 0.0)
    assert inputs.change("transactions_per_day", later, stats) == pytest.approx(1 / 6 - 1)
    assert inputs.change("new_customer_share", later, stats) == pytest.approx(-2 / 3)
    assert inputs.first_clean_day(days) == D(2024, 1, 1)


class HalfPerPeriod:
    """A model expecting 0.5 repeat purchases per period from a customer with no history."""

    def expected_purchases(self, t, frequency, recency, T):
        assert not np.any(frequency) and not np.any(recency) and not np.any(T)
        return 0.5 * np.asarray(t, dtype=float)


def test_tracking_counts_and_expectation(parsed):
    cohorts, repeats = tracking.period_counts(_days(parsed, "D"), "D", D(2024, 1, 9))
    day = (D(2024, 1, 1) - D(1970, 1, 1)).days  # rfm's day index
    assert cohorts == {day: 1, day + 2: 1}
    assert repeats == {day + 2: 1, day + 8: 1}  # a's second day and a's third; two rows on 1/1 are one period
    track = tracking.tracking(cohorts, repeats, HalfPerPeriod(), D(2024, 1, 1), D(2024, 1, 9), "D")
    assert track.weeks == (D(2024, 1, 8), D(2024, 1, 9))
    assert track.actual == (1.0, 2.0)
    assert track.expected == pytest.approx((0.5 * 7 + 0.5 * 5, 0.5 * 8 + 0.5 * 6))


@pytest.fixture()
def log(spark):
    """A random parsed log: 30 customers over 100 days, repeat days, quarantined and undated rows."""
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(400):
        customer = f"c{rng.integers(30)}"
        date = D(2024, 1, 1) + dt.timedelta(days=int(rng.integers(100)))
        reason = ["non_positive_amount", "implausible_amount", None, None, None, None][rng.integers(6)]
        rows.append((customer, date, float(rng.integers(1, 50)), reason))
    rows += [(None, None, 5.0, "unparseable_date"), (None, D(2024, 2, 1), 5.0, "null_customer_id")]
    return spark.createDataFrame(rows, "customer_id string, transaction_date date, amount double, reason string")


def _defined(log, window, freq, end):
    """The levels and tracking counts as defined, per customer in pandas: what the day sums must equal."""
    frame = log.toPandas()
    dated = frame[frame["transaction_date"].notna()]
    rows = dated[(dated["transaction_date"] >= window.start) & (dated["transaction_date"] <= window.end)]
    clean_all = frame[frame["reason"].isna()]
    first = clean_all.groupby("customer_id")["transaction_date"].min()
    pairs = rows[rows["reason"].isna()][["customer_id", "transaction_date"]].drop_duplicates()
    new = int((pairs["transaction_date"].to_numpy() == first.loc[pairs["customer_id"]].to_numpy()).sum())
    clean = int(rows["reason"].isna().sum())
    levels = (len(rows), clean, clean / window.days, new / len(pairs) if len(pairs) else 0.0,
              (len(rows) - clean) / len(rows) if len(rows) else 0.0)
    upto = clean_all[clean_all["transaction_date"] <= end]
    periods = upto.assign(p=[period_index_of(d, freq) for d in upto["transaction_date"]])[["customer_id", "p"]]
    periods = periods.drop_duplicates()
    starts = periods.groupby("customer_id")["p"].min()
    cohorts = {int(p): int(n) for p, n in starts.value_counts().items()}
    later = periods[periods["p"].to_numpy() > starts.loc[periods["customer_id"]].to_numpy()]
    repeats = {int(p): int(n) for p, n in later["p"].value_counts().items()}
    return levels, cohorts, repeats


@pytest.mark.parametrize("freq", ["D", "W", "M"])
def test_day_sums_equal_the_per_customer_definitions(log, freq):
    days = _days(log, freq)
    spans = [(D(2024, 1, 1), D(2024, 4, 9)), (D(2024, 2, 3), D(2024, 2, 20)), (D(2024, 3, 30), D(2024, 5, 1))]
    for start, end in spans:
        window = inputs.Window("w", start, end)
        levels, cohorts, repeats = _defined(log, window, freq, end)
        stats = inputs.window_stats(days, window)
        assert (stats.rows, stats.transactions, stats.transactions_per_day, stats.new_customer_share,
                stats.quarantine_share) == pytest.approx(levels, rel=1e-15, abs=0)
        assert tracking.period_counts(days, freq, end) == (cohorts, repeats)


def test_amount_histograms_count_the_clean_amounts_of_each_window(log):
    summary = inputs.daily_summary(log, "W")
    windows = {"all": inputs.Window("all", D(2024, 1, 1), D(2024, 4, 9)),
               "feb": inputs.Window("feb", D(2024, 2, 3), D(2024, 2, 20)), "none": inputs.Window("none", D(2023, 1, 1),
                                                                                                    D(2023, 2, 1))}
    histograms = inputs.amount_histograms(summary, windows)
    frame = log.toPandas()
    clean = frame[frame["reason"].isna()]
    for key, window in windows.items():
        amounts = clean[(clean["transaction_date"] >= window.start) & (clean["transaction_date"] <= window.end)]
        bins = np.floor(np.log(amounts["amount"].to_numpy()) / np.log(inputs.GRID_STEP)).astype(int)
        expected = {int(b): int(n) for b, n in zip(*np.unique(bins, return_counts=True), strict=True)}
        assert histograms[key] == expected
    assert histograms["none"] == {}
    for b in histograms["all"]:  # each amount lies in [bin_start(b), bin_start(b + 1)): a bin spans under 1%
        assert inputs.bin_start(b + 1) / inputs.bin_start(b) == pytest.approx(1.01)


def test_zero_amounts_and_days_without_clean_rows(spark):
    rows = [("a", D(2024, 1, 1), 0.0, None), ("a", D(2024, 1, 1), 1.0, None), ("b", D(2024, 1, 2), -3.0, "x")]
    parsed = spark.createDataFrame(rows, "customer_id string, transaction_date date, amount double, reason string")
    summary = inputs.daily_summary(parsed, "D")
    stored = {(r["transaction_date"], r[inputs.AMOUNT_BIN]): r["transactions"] for r in summary.collect()}
    assert stored == {(D(2024, 1, 1), None): 2, (D(2024, 1, 1), inputs.ZERO_BIN): 1, (D(2024, 1, 1), 0): 1,
                      (D(2024, 1, 2), None): 0}
    assert inputs.bin_start(inputs.ZERO_BIN) == 0.0 and inputs.bin_start(0) == 1.0


def test_days_counted_with_another_freq_are_refused(parsed):
    with pytest.raises(DataError, match="data.freq W, the config has D; re-run prepare"):
        inputs.days_of(inputs.daily_summary(parsed, "W"), "D")
