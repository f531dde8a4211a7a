"""Customer lifetime value: lifetimes' discounted monthly sum, vectorised over customers."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gda_clv.models._types import FloatArray
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.names import DAYS_PER_PERIOD, LIFETIMES_PERIODS_PER_MONTH


def periods_per_month(freq: str, freq_multiplier: float = 1, month_days: float | None = None) -> float:
    """How many model time units make a month.

    ``month_days`` None: lifetimes' factor divided by the multiplier (lifetimes' ``freq`` names the unit that
    recency and T are measured in; with ``freq_multiplier=k`` the unit is k of those, so a month holds 1/k as
    many). Otherwise a month of ``month_days`` days (:data:`gda_clv.names.CALENDAR_MONTH_DAYS` in the pipeline).

    Raises ``ValueError`` for an unknown ``freq`` or a multiplier that is not positive (the config's are checked by
    its schema).
    """
    if freq not in LIFETIMES_PERIODS_PER_MONTH:
        raise ValueError(f"freq must be one of {', '.join(LIFETIMES_PERIODS_PER_MONTH)} for CLV, got {freq!r}")
    if not freq_multiplier > 0:
        raise ValueError(f"freq_multiplier must be > 0, got {freq_multiplier}")
    if month_days is None:
        return LIFETIMES_PERIODS_PER_MONTH[freq] / freq_multiplier
    if freq not in DAYS_PER_PERIOD:
        raise ValueError(f"freq must be one of {', '.join(DAYS_PER_PERIOD)} with month_days, got {freq!r}")
    return month_days / (DAYS_PER_PERIOD[freq] * freq_multiplier)


def customer_lifetime_value(
    freq_model: FrequencyModel,
    gg_model: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    time_months: int,
    discount_rate: float,
    freq: str = "D",
    freq_multiplier: float = 1,
    month_days: float | None = None,
) -> FloatArray:
    """CLV over ``time_months`` months, discounted by ``discount_rate`` per month.

    Equals lifetimes' ``GammaGammaFitter.customer_lifetime_value`` (which supports freq_multiplier 1 only):
    sum over months k of spend * (E[purchases up to k months] - E[up to k-1]) / (1 + discount_rate)**k,
    with spend = the Gamma-Gamma expected average spend. One prediction per month boundary, vectorised.
    A month is lifetimes' (``month_days`` None) or ``month_days`` days long (see :func:`periods_per_month`).

    Raises ``ValueError`` when ``time_months`` is not a whole number >= 0.
    """
    f = np.asarray(frequency, dtype=float)
    r = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    spend = gg_model.expected_average_spend(f, np.asarray(monetary_value, dtype=float))
    steps, discounts = monthly_grid(time_months, discount_rate, freq, freq_multiplier, month_days)
    return spend * freq_model.discounted_purchases(f, r, age, steps, discounts)


def monthly_grid(
    time_months: int, discount_rate: float, freq: str = "D", freq_multiplier: float = 1,
    month_days: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """The CLV sum's month ends in model periods and their discount factors (lifetimes' grid).

    CLV = spend * ``freq_model.discounted_purchases(f, r, T, steps, discounts)``: the spend factor and the
    purchases factor can be computed apart (the Spark scoring does), which is why the grid has its own home.

    Raises ``ValueError`` when ``time_months`` is not a whole number >= 0.
    """
    if time_months < 0 or int(time_months) != time_months:
        raise ValueError(f"time_months must be a whole number >= 0, got {time_months}")
    factor = periods_per_month(freq, freq_multiplier, month_days)
    steps = np.arange(1, int(time_months) + 1) * factor  # same grid as lifetimes
    discounts = (1 + discount_rate) ** (steps / factor)
    return steps, discounts
