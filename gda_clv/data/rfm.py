"""RFM features in Spark, with exactly the meaning ``lifetimes.utils`` gives them.

Input: validated transactions (``customer_id``, ``transaction_date`` date, ``amount`` double). Nothing is
collected to the driver. Semantics, as in ``lifetimes.utils.summary_data_from_transaction_data`` and
``calibration_and_holdout_data`` (lifetimes 0.11.3):

- A *period* is a pandas period of ``freq``: ``D`` a day, ``W`` a week Monday..Sunday (pandas ``W-SUN``),
  ``M`` a calendar month. Several transactions of a customer in one period collapse into one, amounts summed.
- ``frequency`` = number of distinct purchase periods - 1 (repeat periods); ``recency`` = periods from the first
  to the last purchase period; ``T`` = periods from the first purchase period to the period of the observation
  end; both divided by ``freq_multiplier``. ``monetary_value`` = mean of the per-period totals over the repeat
  periods (the first period excluded), 0 for one-time buyers. The summary keeps transactions whose *period* is
  not after the observation end's period (lifetimes' rule).
- Calibration: transactions on or before ``calibration_end`` (compared as dates), summarised at
  ``calibration_end`` -> ``*_cal``. Holdout: transactions after ``calibration_end`` and on or before
  ``observation_end``, for customers present in calibration only; ``frequency_holdout`` = distinct holdout
  purchase periods; ``duration_holdout`` = periods from the calibration end's period to the observation end's
  period / ``freq_multiplier``; holdout columns are 0 for customers with no holdout purchase.
- ``monetary_value_holdout`` deliberately differs from lifetimes: lifetimes averages the raw holdout rows, which
  is inconsistent with ``monetary_value_cal`` (per-period totals) and with ``frequency_holdout`` (periods)
  (lifetimes issues #371, #431). Here it is the mean of the per-period holdout totals, i.e. total holdout spend
  / ``frequency_holdout``; the two agree when no period holds more than one transaction.
- ``M``: lifetimes divides day differences by ``np.timedelta64(1, "M")``, which pandas >= 2 rejects ("Unit M is
  not supported") and pandas 1.x converts to 30.436875 days, giving fractional months inconsistent with its own
  whole-month ``duration_holdout``. Here recency and T are whole months (pandas ``Period`` arithmetic), the
  same unit as ``duration_holdout``.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from gda_clv.names import AMOUNT, AS_OF, CALIBRATION_END, CUSTOMER_ID, FREQS, TRANSACTION_DATE

# CALIBRATION_END travels with the rows, so a later step (another process, another day) trains on exactly the split
# prepare made, never a split recomputed from its own config.
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")
CAL_HOLDOUT_COLUMNS = (
    "frequency_cal",
    "recency_cal",
    "T_cal",
    "monetary_value_cal",
    "frequency_holdout",
    "monetary_value_holdout",
    "duration_holdout",
)
FEATURE_COLUMNS = (CUSTOMER_ID, AS_OF, CALIBRATION_END, *CAL_HOLDOUT_COLUMNS, *SUMMARY_COLUMNS)
FREQUENCY_GROUP_KEYS = ("frequency_cal", "recency_cal", "T_cal", "duration_holdout", "frequency_holdout")
MONETARY_GROUP_KEYS = ("frequency_cal", "monetary_value_cal", "frequency_holdout", "monetary_value_holdout")
WEIGHT = "weight"

_EPOCH = dt.date(1970, 1, 1)  # a Thursday: the Monday of its week is 3 days earlier
_PERIOD = "__period__"
_PERIOD_AMOUNT = "__period_amount__"


def check_freq(freq: str, freq_multiplier: int) -> None:
    """Raise ``ValueError`` unless ``freq`` is D/W/M and ``freq_multiplier`` a positive integer (the config's are
    checked by its schema)."""
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {', '.join(FREQS)} (as in lifetimes), got {freq!r}")
    if isinstance(freq_multiplier, bool) or not isinstance(freq_multiplier, int) or freq_multiplier < 1:
        raise ValueError(f"freq_multiplier must be a positive integer, got {freq_multiplier!r}")


def period_index(date: Column, freq: str) -> Column:
    """Integer index of the ``freq`` period holding ``date``; differences are whole periods."""
    days = F.datediff(date, F.lit(_EPOCH))
    if freq == "D":
        return days
    if freq == "W":
        return F.floor((days + 3) / 7).cast(T.IntegerType())
    return F.year(date) * 12 + F.month(date) - 1


def period_index_of(date: dt.date, freq: str) -> int:
    """:func:`period_index` of one Python date."""
    days = (date - _EPOCH).days
    if freq == "D":
        return days
    if freq == "W":
        return (days + 3) // 7
    return date.year * 12 + date.month - 1


def calibration_and_holdout(
    transactions: DataFrame,
    calibration_end: dt.date,
    observation_end: dt.date,
    freq: str = "D",
    freq_multiplier: int = 1,
) -> DataFrame:
    """``customer_id`` + :data:`CAL_HOLDOUT_COLUMNS` as ``calibration_and_holdout_data`` (see the module doc):
    the :func:`rfm_features` rows of the customers present in the calibration period.

    Raises ``ValueError`` when the calibration end is not before the observation end.
    """
    features = rfm_features(transactions, calibration_end, observation_end, freq, freq_multiplier)
    return calibration_rows(features).select(CUSTOMER_ID, *CAL_HOLDOUT_COLUMNS)


def rfm_features(
    transactions: DataFrame,
    calibration_end: dt.date,
    observation_end: dt.date,
    freq: str = "D",
    freq_multiplier: int = 1,
) -> DataFrame:
    """The feature table rows for ``as_of = observation_end``: :data:`FEATURE_COLUMNS`, one row per customer.

    Every customer with a purchase up to the observation end gets the full-period summary; the calibration and
    holdout columns are null for customers whose first purchase is after ``calibration_end`` (lifetimes leaves
    them out of ``calibration_and_holdout_data``). One pass: one row per (customer, period) with the period's total, its
    calibration part and its holdout part, then one aggregation per customer (two shuffles, no join).

    Raises ``ValueError`` for an unknown ``freq`` or a calibration end not before the observation end.
    """
    check_freq(freq, freq_multiplier)
    if calibration_end >= observation_end:
        raise ValueError(f"calibration_end ({calibration_end}) must be before observation_end ({observation_end})")
    date, amount = F.col(TRANSACTION_DATE), F.col(AMOUNT)
    end, cal_end = period_index_of(observation_end, freq), period_index_of(calibration_end, freq)
    in_cal = date <= F.lit(calibration_end)
    in_holdout = ~in_cal & (date <= F.lit(observation_end))
    periods = (
        transactions.withColumn(_PERIOD, period_index(date, freq))
        .where(F.col(_PERIOD) <= end)
        .groupBy(CUSTOMER_ID, _PERIOD)
        .agg(
            F.sum(amount).alias(_PERIOD_AMOUNT),
            F.sum(F.when(in_cal, amount)).alias("__cal_amount__"),
            F.count(F.when(in_cal, 1)).alias("__cal_rows__"),
            F.sum(F.when(in_holdout, amount)).alias("__holdout_amount__"),
            F.count(F.when(in_holdout, 1)).alias("__holdout_rows__"),
        )
    )
    cal_period = F.when(F.col("__cal_rows__") > 0, F.col(_PERIOD))
    customer = Window.partitionBy(CUSTOMER_ID)
    periods = periods.withColumn("__first__", F.min(_PERIOD).over(customer)).withColumn(
        "__first_cal__", F.min(cal_period).over(customer)
    )
    per_customer = periods.groupBy(CUSTOMER_ID).agg(
        F.count(F.lit(1)).alias("__n__"),
        F.min(_PERIOD).alias("__min__"),
        F.max(_PERIOD).alias("__max__"),
        F.avg(F.when(F.col(_PERIOD) > F.col("__first__"), F.col(_PERIOD_AMOUNT))).alias("__mv__"),
        F.count(cal_period).alias("__n_cal__"),
        F.min(cal_period).alias("__min_cal__"),
        F.max(cal_period).alias("__max_cal__"),
        F.avg(F.when(cal_period > F.col("__first_cal__"), F.col("__cal_amount__"))).alias("__mv_cal__"),
        F.count(F.when(F.col("__holdout_rows__") > 0, 1)).alias("__n_holdout__"),
        F.avg(F.when(F.col("__holdout_rows__") > 0, F.col("__holdout_amount__"))).alias("__mv_holdout__"),
    )
    in_calibration = F.col("__n_cal__") > 0

    def cal_only(value: Column) -> Column:
        return F.when(in_calibration, value.cast(T.DoubleType()))

    duration = (end - cal_end) / freq_multiplier
    return per_customer.select(
        CUSTOMER_ID,
        F.lit(observation_end).cast(T.DateType()).alias(AS_OF),
        F.lit(calibration_end).cast(T.DateType()).alias(CALIBRATION_END),
        cal_only(F.col("__n_cal__") - 1).alias("frequency_cal"),
        cal_only((F.col("__max_cal__") - F.col("__min_cal__")) / freq_multiplier).alias("recency_cal"),
        cal_only((F.lit(cal_end) - F.col("__min_cal__")) / freq_multiplier).alias("T_cal"),
        cal_only(F.coalesce(F.col("__mv_cal__"), F.lit(0.0))).alias("monetary_value_cal"),
        cal_only(F.col("__n_holdout__")).alias("frequency_holdout"),
        cal_only(F.coalesce(F.col("__mv_holdout__"), F.lit(0.0))).alias("monetary_value_holdout"),
        cal_only(F.lit(float(duration))).alias("duration_holdout"),
        (F.col("__n__") - 1).cast(T.DoubleType()).alias("frequency"),
        ((F.col("__max__") - F.col("__min__")) / freq_multiplier).cast(T.DoubleType()).alias("recency"),
        ((F.lit(end) - F.col("__min__")) / freq_multiplier).cast(T.DoubleType()).alias("T"),
        F.coalesce(F.col("__mv__"), F.lit(0.0)).cast(T.DoubleType()).alias("monetary_value"),
    )


def calibration_rows(features: DataFrame) -> DataFrame:
    """Rows of customers present in the calibration period (what lifetimes' calibration frame holds)."""
    return features.where(F.col("T_cal").isNotNull())


def filtered_cal(features: DataFrame) -> DataFrame:
    """Customers eligible for Gamma-Gamma: repeat buyers in calibration with positive monetary value."""
    return features.where((F.col("frequency_cal") > 0) & (F.col("monetary_value_cal") > 0))


def frequency_groups(features: DataFrame) -> DataFrame:
    """Compressed frequency-model data: :data:`FREQUENCY_GROUP_KEYS` + ``weight`` (customer count)."""
    return calibration_rows(features).groupBy(*FREQUENCY_GROUP_KEYS).agg(F.count(F.lit(1)).alias(WEIGHT))


def monetary_groups(features: DataFrame) -> DataFrame:
    """Compressed Gamma-Gamma data over :func:`filtered_cal`: :data:`MONETARY_GROUP_KEYS` + ``weight``."""
    return filtered_cal(features).groupBy(*MONETARY_GROUP_KEYS).agg(F.count(F.lit(1)).alias(WEIGHT))
