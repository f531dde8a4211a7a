"""Input-data health of windows of the transaction log: Spark counts per day, windows sum the days on the driver.

A window is the dates ``[start, end]``. Over a frame of :func:`gda_clv.data.transactions.parse_transactions` rows
(clean rows have a null ``reason``):
- ``transactions_per_day``: clean transactions / days of the window;
- ``new_customer_share``: of the (customer, day) pairs with a clean purchase in the window, the share that is the
  customer's first purchase day in the whole log (independent of the window's length, so a long training window
  compares with a short recent one);
- ``quarantine_share``: quarantined / all rows dated in the window (a row whose date is missing or unparseable
  has no window and is left out);
- ``amount``: the clean amounts, for PSI/KS against another window (:mod:`gda_clv.monitoring.drift`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F

from gda_clv.data.rfm import period_index
from gda_clv.data.transactions import REASON
from gda_clv.errors import DataError
from gda_clv.names import AMOUNT, CUSTOMER_ID, TRANSACTION_DATE

LEVELS = ("transactions_per_day", "new_customer_share", "quarantine_share")


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


def daily_counts(parsed: DataFrame, freq: str) -> list[Day]:
    """One :class:`Day` per dated day of ``parsed``: one aggregation in Spark, one row per day to the driver."""
    date = F.col(TRANSACTION_DATE)
    pairs = parsed.where(date.isNotNull()).groupBy(CUSTOMER_ID, TRANSACTION_DATE).agg(
        F.count(F.lit(1)).alias("rows"), F.count(F.when(F.col(REASON).isNull(), 1)).alias("clean"))
    bought = F.col("clean") > 0
    first = F.min(F.when(bought, date))
    flagged = pairs.select(
        "*", first.over(SparkWindow.partitionBy(CUSTOMER_ID)).alias("first_day"),
        first.over(SparkWindow.partitionBy(CUSTOMER_ID, period_index(date, freq))).alias("period_first"),
    )
    days = flagged.groupBy(TRANSACTION_DATE).agg(
        F.sum("rows").alias("rows"), F.sum("clean").alias("clean"), F.count(F.when(bought, 1)).alias("customers"),
        F.count(F.when(bought & (date == F.col("first_day")), 1)).alias("new"),
        F.count(F.when(bought & (date == F.col("period_first")), 1)).alias("starts"),
    ).collect()
    return sorted((Day(r[TRANSACTION_DATE], int(r["rows"]), int(r["clean"]), int(r["customers"]), int(r["new"]),
                       int(r["starts"])) for r in days), key=lambda d: d.date)


def first_clean_day(days: list[Day]) -> dt.date:
    """The log's first date with a clean purchase; DataError when it has none."""
    dates = [d.date for d in days if d.transactions]
    if not dates:
        raise DataError("the source log has no clean transactions to monitor; check data.source.path.")
    return min(dates)


def in_window(window: Window) -> Column:
    """True for the rows of a :func:`~gda_clv.data.transactions.parse_transactions` frame dated in ``window``."""
    return F.col(TRANSACTION_DATE).between(F.lit(window.start), F.lit(window.end))


def clean_amounts(window: Window) -> Column:
    """``amount`` of the clean rows in ``window``, null elsewhere (for the amount distribution's PSI/KS)."""
    return F.when(in_window(window) & F.col(REASON).isNull(), F.col(AMOUNT))


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
