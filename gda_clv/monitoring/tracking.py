"""The classic tracking plot's data: cumulative repeat transactions by week, actual vs what the model expects.

Repeat transactions are counted as the features count them (:mod:`gda_clv.data.rfm`): distinct purchase periods of
``freq`` per customer, the first one excluded. The expectation is the cohort sum of the model's expected purchases
of a customer with no history (frequency = recency = T = 0, i.e. the population expectation) over the time since
each cohort's first purchase period. Spark aggregates per period; only the per-period counts (cohort sizes and
repeat periods, one row per period) reach the driver.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.data.rfm import period_index, period_index_of
from gda_clv.models._types import FloatArray
from gda_clv.names import CUSTOMER_ID, TRANSACTION_DATE


class ExpectsPurchases(Protocol):
    """What the tracking plot needs of a frequency model (:class:`gda_clv.models.frequency.FrequencyModel`)."""

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                           ) -> FloatArray:
        """Expected repeat purchases in the next ``t`` periods of customers with this history."""


@dataclass(frozen=True)
class Tracking:
    """Week-end dates with the cumulative actual and expected repeat transactions up to each."""

    weeks: tuple[dt.date, ...]
    actual: tuple[float, ...]
    expected: tuple[float, ...]


def period_counts(clean: DataFrame, freq: str, end: dt.date) -> tuple[dict[int, int], dict[int, int]]:
    """(customers by first purchase period, repeat purchase periods by period) of the clean rows up to ``end``."""
    periods = clean.where(F.col(TRANSACTION_DATE) <= F.lit(end)).select(
        CUSTOMER_ID, period_index(F.col(TRANSACTION_DATE), freq).alias("p")
    ).distinct()
    first = periods.groupBy(CUSTOMER_ID).agg(F.min("p").alias("first"))
    cohorts = {int(r["first"]): int(r["n"]) for r in first.groupBy("first").agg(F.count(F.lit(1)).alias("n")).collect()}
    repeats = periods.join(first, CUSTOMER_ID).where(F.col("p") > F.col("first"))
    counts = {int(r["p"]): int(r["n"]) for r in repeats.groupBy("p").agg(F.count(F.lit(1)).alias("n")).collect()}
    return cohorts, counts


def tracking(cohorts: dict[int, int], repeats: dict[int, int], model: ExpectsPurchases, start: dt.date,
             end: dt.date, freq: str, freq_multiplier: int = 1) -> Tracking:
    """Cumulative actual and expected repeat transactions at each week's end from ``start`` to ``end``."""
    weeks = [start + dt.timedelta(days=7 * k) for k in range(1, (end - start).days // 7 + 1)]
    if not weeks or weeks[-1] != end:
        weeks.append(end)
    first = np.array(sorted(cohorts), dtype=float)
    sizes = np.array([cohorts[p] for p in sorted(cohorts)], dtype=float)
    repeat_periods = np.array(sorted(repeats), dtype=float)
    repeat_counts = np.cumsum([repeats[p] for p in sorted(repeats)], dtype=float)
    actual, expected = [], []
    for week in weeks:
        now = period_index_of(week, freq)
        reached = np.searchsorted(repeat_periods, now, side="right")
        actual.append(float(repeat_counts[reached - 1]) if reached else 0.0)
        born = first <= now
        t = (now - first[born]) / freq_multiplier
        zeros = np.zeros_like(t)
        expected.append(float(np.sum(sizes[born] * model.expected_purchases(t, zeros, zeros, zeros))) if born.any()
                        else 0.0)
    return Tracking(tuple(weeks), tuple(actual), tuple(expected))
