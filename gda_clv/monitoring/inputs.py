"""Input-data health of windows of the transaction log, from a per-day summary that prepare writes.

Prepare counts its parsed log per day (:func:`daily_summary`: rows per date up to its as_of, in the input-summary
table ``tables.input_summary``); the monitor sums those days on the driver and never reads the source. A window is
the dates ``[start, end]``. Over :func:`gda_clv.data.transactions.parse_transactions` rows (clean rows have a null
``reason``):
- ``transactions_per_day``: clean transactions / days of the window;
- ``new_customer_share``: of the (customer, day) pairs with a clean purchase in the window, the share that is the
  customer's first purchase day in the whole log (independent of the window's length, so a long training window
  compares with a short recent one);
- ``quarantine_share``: quarantined / all rows dated in the window (a row whose date is missing or unparseable
  has no window and is left out);
- ``amount``: the clean amounts counted per day on a fixed relative grid (:data:`GRID_STEP`: a bin spans less than
  1% of its values), summed per window for PSI/KS against another window
  (:func:`gda_clv.monitoring.drift.histogram_drift`).
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F

from gda_clv.data.rfm import period_index
from gda_clv.data.transactions import REASON
from gda_clv.errors import DataError
from gda_clv.names import AMOUNT, CUSTOMER_ID, TRANSACTION_DATE

LEVELS = ("transactions_per_day", "new_customer_share", "quarantine_share")
DAY_COUNTS = ("rows", "transactions", "customers", "new_customers", "period_starts")  # the :class:`Day` fields
FREQ = "freq"  # the data.freq the period starts were counted in
AMOUNT_BIN = "amount_bin"  # null on a day's row; on a (day, bin) row: the bin its ``transactions`` are in
GRID_STEP = 1.01  # amount bin b holds the amounts in [GRID_STEP**b, GRID_STEP**(b+1))
ZERO_BIN = -(2**31)  # the bin of zero amounts (data.keep_zero_amounts), below every other
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Window:
    """Dates ``start..end`` (inclusive) of the log, and what they are (``current``, a reference's name)."""

    name: str
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        """Days in the window."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class InputStats:
    """The levels of one window (see the module docstring)."""

    window: Window
    rows: int
    transactions: int
    transactions_per_day: float
    new_customer_share: float
    quarantine_share: float

    def level(self, name: str) -> float:
        """One of :data:`LEVELS` by name."""
        return float(getattr(self, name))


@dataclass(frozen=True)
class Day:
    """Counts of one date of the log: what every window's levels and the tracking plot are sums of."""

    date: dt.date
    rows: int  # all rows dated that day
    transactions: int  # clean rows
    customers: int  # customers with a clean purchase that day
    new_customers: int  # of them, those whose first clean purchase in the whole log it is
    period_starts: int  # of them, those whose first clean purchase in the day's ``freq`` period it is


def amount_bin(amount: Column) -> Column:
    """The grid bin of an ``amount`` >= 0: ``floor(log(amount) / log(GRID_STEP))``, :data:`ZERO_BIN` for 0."""
    grid_bin = F.floor(F.log(amount) / F.lit(math.log(GRID_STEP))).cast("int")
    return F.when(amount == 0, F.lit(ZERO_BIN)).otherwise(grid_bin)


def bin_start(index: int) -> float:
    """The smallest amount of grid bin ``index``."""
    return 0.0 if index == ZERO_BIN else GRID_STEP**index


def daily_summary(parsed: DataFrame, freq: str) -> DataFrame:
    """The counts of each dated day of ``parsed``, lazy: a row per day (:data:`AMOUNT_BIN` null) with the
    :data:`DAY_COUNTS`, and a row per (day, amount bin) with the clean transactions in that bin (``transactions``;
    the other counts null).

    One shuffle of the clean rows by customer, ordered by date: a row whose customer's previous clean row is on an
    earlier day starts a customer-day, one without a previous row is the customer's first purchase day, one whose
    previous row is in an earlier ``freq`` period starts a period. Rows by day and amount bins are map-side
    aggregations.
    """
    date = F.col(TRANSACTION_DATE)
    dated = parsed.where(date.isNotNull())
    clean = dated.where(F.col(REASON).isNull())
    before = F.lag(date).over(SparkWindow.partitionBy(CUSTOMER_ID).orderBy(date))
    flagged = clean.select(TRANSACTION_DATE, before.alias("before"))
    earlier = F.col("before").isNull() | (F.col("before") < date)
    buyers = flagged.groupBy(TRANSACTION_DATE).agg(
        F.count(F.when(earlier, 1)).alias("customers"),
        F.count(F.when(F.col("before").isNull(), 1)).alias("new_customers"),
        F.count(F.when(F.col("before").isNull() | (period_index(F.col("before"), freq) < period_index(date, freq)),
                       1)).alias("period_starts"))
    totals = dated.groupBy(TRANSACTION_DATE).agg(
        F.count(F.lit(1)).alias("rows"), F.count(F.when(F.col(REASON).isNull(), 1)).alias("transactions"))
    days = totals.join(buyers, TRANSACTION_DATE, "left").select(
        TRANSACTION_DATE, F.lit(None).cast("int").alias(AMOUNT_BIN),
        *(F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in DAY_COUNTS))
    bins = clean.groupBy(TRANSACTION_DATE, amount_bin(F.col(AMOUNT)).alias(AMOUNT_BIN)).agg(
        F.count(F.lit(1)).cast("long").alias("transactions"))
    stacked = days.unionByName(bins.select(TRANSACTION_DATE, AMOUNT_BIN, *(
        F.col(c) if c == "transactions" else F.lit(None).cast("long").alias(c) for c in DAY_COUNTS)))
    return stacked.withColumn(FREQ, F.lit(freq))


def days_of(summary: DataFrame, freq: str) -> list[Day]:
    """The :class:`Day` rows of a :func:`daily_summary` frame, by date (one row per day to the driver).

    Raises ``DataError`` when the period starts were counted with another ``freq`` than ``freq``.
    """
    rows = summary.where(F.col(AMOUNT_BIN).isNull()).select(TRANSACTION_DATE, *DAY_COUNTS, FREQ).collect()
    counted = {r[FREQ] for r in rows} - {freq}
    if counted:
        raise DataError(f"the input summary was counted with data.freq {sorted(counted)[0]}, the config has {freq}; "
                        "re-run prepare for this as_of with the config of this run.")
    return sorted((Day(r[TRANSACTION_DATE], *(int(r[c]) for c in DAY_COUNTS)) for r in rows), key=lambda d: d.date)


def amount_histograms(summary: DataFrame, windows: Mapping[K, Window]) -> dict[K, dict[int, int]]:
    """Clean transactions by amount bin in each window of a :func:`daily_summary` frame: one aggregation, one row
    per bin to the driver."""
    if not windows:
        return {}
    keys = list(windows)
    date = F.col(TRANSACTION_DATE)
    sums = summary.where(F.col(AMOUNT_BIN).isNotNull()).groupBy(AMOUNT_BIN).agg(*(
        F.sum(F.when(date.between(F.lit(windows[k].start), F.lit(windows[k].end)), F.col("transactions"))).alias(
            f"_w{i}") for i, k in enumerate(keys))).collect()
    return {k: {int(r[AMOUNT_BIN]): int(r[f"_w{i}"]) for r in sums if r[f"_w{i}"]} for i, k in enumerate(keys)}


def first_clean_day(days: list[Day]) -> dt.date:
    """The log's first date with a clean purchase; DataError when it has none."""
    dates = [d.date for d in days if d.transactions]
    if not dates:
        raise DataError("the source log has no clean transactions to monitor; check data.source.path.")
    return min(dates)


def window_stats(days: list[Day], window: Window) -> InputStats:
    """The levels of ``window``, summed from the days in it (on the driver)."""
    inside = [d for d in days if window.start <= d.date <= window.end]
    total, clean = sum(d.rows for d in inside), sum(d.transactions for d in inside)
    pairs = sum(d.customers for d in inside)
    return InputStats(
        window=window, rows=total, transactions=clean,
        transactions_per_day=clean / window.days,
        new_customer_share=sum(d.new_customers for d in inside) / pairs if pairs else 0.0,
        quarantine_share=(total - clean) / total if total else 0.0,
    )


def change(name: str, current: InputStats, reference: InputStats) -> float:
    """How ``name`` moved from ``reference`` to ``current``: relative for the volume, absolute for shares.

    A volume rising from none counts as +100%.
    """
    now, before = current.level(name), reference.level(name)
    if name == "transactions_per_day":
        return now / before - 1.0 if before else float(now > 0)
    return now - before
