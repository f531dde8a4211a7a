"""Input-data health of one window of the transaction log, computed in Spark; only a few totals reach the driver.

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

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.data.transactions import REASON
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


def first_purchase_days(parsed: DataFrame) -> DataFrame:
    """``customer_id, first_day``: each customer's first clean purchase date in the whole log."""
    return parsed.where(F.col(REASON).isNull()).groupBy(CUSTOMER_ID).agg(F.min(TRANSACTION_DATE).alias("first_day"))


def in_window(parsed: DataFrame, window: Window) -> DataFrame:
    """The rows of ``parsed`` dated in ``window``."""
    return parsed.where(F.col(TRANSACTION_DATE).between(F.lit(window.start), F.lit(window.end)))


def clean_amounts(parsed: DataFrame, window: Window) -> DataFrame:
    """``amount`` of the clean rows in ``window`` (for the amount distribution's PSI/KS)."""
    return in_window(parsed, window).where(F.col(REASON).isNull()).select(AMOUNT)


def window_stats(parsed: DataFrame, first_days: DataFrame, window: Window) -> InputStats:
    """The levels of ``window``: two aggregations in Spark, one row each to the driver."""
    rows = in_window(parsed, window)
    counts = rows.agg(
        F.count(F.lit(1)).alias("rows"), F.count(F.when(F.col(REASON).isNull(), 1)).alias("clean")
    ).collect()[0]  # aggregates without grouping: one row each
    customer_days = rows.where(F.col(REASON).isNull()).select(CUSTOMER_ID, TRANSACTION_DATE).distinct()
    new = customer_days.join(first_days, CUSTOMER_ID).agg(
        F.count(F.lit(1)).alias("pairs"),
        F.count(F.when(F.col(TRANSACTION_DATE) == F.col("first_day"), 1)).alias("new"),
    ).collect()[0]
    total, clean = int(counts["rows"]), int(counts["clean"])
    pairs = int(new["pairs"])
    return InputStats(
        window=window, rows=total, transactions=clean,
        transactions_per_day=clean / window.days,
        new_customer_share=int(new["new"]) / pairs if pairs else 0.0,
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
