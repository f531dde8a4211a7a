"""The classic tracking plot's data: cumulative repeat transactions by week, actual vs what the model expects.

Repeat transactions are counted as the features count them (:mod:`gda_clv.data.rfm`): distinct purchase periods of
``freq`` per customer, the first one excluded. The expectation is the cohort sum of the model's expected purchases
of a customer with no history (frequency = recency = T = 0, i.e. the population expectation) over the time since
each cohort's first purchase period. Both are sums of the day counts of :func:`gda_clv.monitoring.inputs.daily_summary`
(new customers, and customers starting a period), so no customer reaches the driver.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from gda_clv.data.rfm import period_index_of
from gda_clv.models._types import FloatArray
from gda_clv.monitoring.inputs import Day


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


def period_counts(days: list[Day], freq: str, end: dt.date) -> tuple[dict[int, int], dict[int, int]]:
    """(customers by first purchase period, repeat purchase periods by period) up to ``end``, from the day counts."""
    cohorts: dict[int, int] = {}
    repeats: dict[int, int] = {}
    for day in days:
        if day.date > end:
            continue
        period = period_index_of(day.date, freq)
        if day.new_customers:
            cohorts[period] = cohorts.get(period, 0) + day.new_customers
        if day.period_starts > day.new_customers:  # a customer's first period is its cohort, not a repeat
            repeats[period] = repeats.get(period, 0) + day.period_starts - day.new_customers
    return cohorts, repeats


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
