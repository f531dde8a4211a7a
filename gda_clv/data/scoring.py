"""Score every customer in Spark: P(alive), expected purchases per horizon, expected spend, CLV and a value tier.

Pure Spark: DataFrame and fitted models in, DataFrame out; no config, no I/O. Customers never reach the driver:
Spark compresses them to the distinct (frequency, recency, T) tuples with counts (what training collects too), the
models score each tuple once on the driver, and Spark joins the scores back to the customers, where each customer's
expected spend is a line in its own monetary value. No Python worker runs. Only the tuples and the tier thresholds
reach the driver.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from gda_clv.errors import DataError
from gda_clv.models.clv import monthly_grid
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.names import CALENDAR_MONTH_DAYS, DAYS_PER_PERIOD

INPUT_COLUMNS = ("frequency", "recency", "T", "monetary_value")
FREQUENCY_INPUTS = INPUT_COLUMNS[:3]
# per-tuple columns of frequency_scores that only the join uses
DISCOUNTED, SPEND_BASE, SPEND_SLOPE = "discounted_purchases", "spend_base", "spend_slope"
# Score tables up to this many tuples (~30 MB) are broadcast to the join; larger ones are shuffled with it.
BROADCAST_MAX_TUPLES = 400_000
PERIODS_PER_MONTH_TEXT = {"D": "30 days", "W": "4.345 weeks", "M": "1 month"}
KEY_COLUMNS = ("customer_id", "as_of")


@dataclass(frozen=True)
class ModelRef:
    """Which registered model version produced a score (written next to every prediction)."""

    name: str
    version: str
    run_id: str | None = None


@dataclass(frozen=True)
class ScoringSpec:
    """The projection settings (``projection.*`` and the model time unit ``data.freq`` x ``data.freq_multiplier``).

    ``month_days``: the CLV month in days; 365.25 / 12 (``projection.month: calendar``) makes 12 CLV months the
    year of ``expected_purchases_365d`` (to a quarter day); None is lifetimes' month (``projection.month:
    lifetimes``: 30 days for freq D, 4.345 weeks for W).
    """

    horizons_days: tuple[int, ...] = (30, 90, 365)
    horizon_months: int = 12
    discount_rate: float = 0.01
    freq: str = "D"
    freq_multiplier: int = 1
    month_days: float | None = CALENDAR_MONTH_DAYS

    def __post_init__(self) -> None:
        if self.freq not in DAYS_PER_PERIOD:
            raise ValueError(f"freq must be one of {', '.join(DAYS_PER_PERIOD)}, got {self.freq!r}")
        if any(int(d) <= 0 for d in self.horizons_days):
            raise ValueError(f"horizons_days must be positive numbers of days, got {list(self.horizons_days)}")

    def periods(self, days: float) -> float:
        """``days`` in model periods (the unit of recency and T)."""
        return days / (DAYS_PER_PERIOD[self.freq] * self.freq_multiplier)


def purchases_column(days: int) -> str:
    """Name of the expected-purchases column for a horizon of ``days``."""
    return f"expected_purchases_{int(days)}d"


def score_columns(spec: ScoringSpec) -> list[str]:
    """The per-tuple score columns, in output order."""
    return ["p_alive", *(purchases_column(d) for d in spec.horizons_days), "expected_avg_spend", "clv"]


def frequency_scores(
    groups: pd.DataFrame, frequency_model: FrequencyModel, monetary_model: GammaGammaModel, spec: ScoringSpec
) -> pd.DataFrame:
    """Everything a customer's scores need that does not depend on its spend, per distinct (frequency, recency, T).

    P(alive), the expected purchases per horizon, the discounted purchases of the CLV sum and the expected spend's
    line (``spend_base + spend_slope * monetary_value``, see ``GammaGammaModel.spend_line``). The CLV is then
    ``expected_avg_spend * discounted_purchases``, which is :func:`gda_clv.models.clv.customer_lifetime_value`.
    """
    f, r, t = (groups[c].to_numpy(dtype=float) for c in FREQUENCY_INPUTS)
    out = pd.DataFrame({c: groups[c].to_numpy(dtype=float) for c in FREQUENCY_INPUTS})
    steps, discounts = monthly_grid(spec.horizon_months, spec.discount_rate, spec.freq, spec.freq_multiplier,
                                    spec.month_days)
    with np.errstate(all="ignore"):  # a non-finite score fails the step in checked_thresholds, naming its inputs
        out["p_alive"] = np.asarray(frequency_model.probability_alive(f, r, t), dtype=float)
        for days in spec.horizons_days:
            out[purchases_column(days)] = np.asarray(
                frequency_model.expected_purchases(spec.periods(days), f, r, t), dtype=float)
        out[DISCOUNTED] = np.asarray(frequency_model.discounted_purchases(f, r, t, steps, discounts), dtype=float)
        out[SPEND_BASE], out[SPEND_SLOPE] = monetary_model.spend_line(f)
    return out


def horizon_units(spec: ScoringSpec) -> dict[str, str]:
    """What each horizon-dependent output column measures, in words (for the summary and the lineage file)."""
    month = (f"{spec.month_days:g} days" if spec.month_days is not None
             else f"lifetimes' month ({PERIODS_PER_MONTH_TEXT.get(spec.freq, spec.freq)})")
    units = {purchases_column(d): f"expected repeat purchases in the next {int(d)} days" for d in spec.horizons_days}
    units["clv"] = (f"expected spend over the next {spec.horizon_months} months of {month}, discounted by "
                    f"{spec.discount_rate:g} per month")
    return units


def check_features(features: DataFrame) -> None:
    """DataError naming the missing columns of the feature frame."""
    missing = [c for c in (*KEY_COLUMNS, *INPUT_COLUMNS) if c not in features.columns]
    if missing:
        raise DataError(
            f"The feature table lacks columns {missing} needed for scoring; it needs "
            f"{', '.join((*KEY_COLUMNS, *INPUT_COLUMNS))} (run the prepare step to rebuild it)."
        )


def _model_inputs(features: DataFrame) -> DataFrame:
    return features.select(*KEY_COLUMNS, *(F.col(c).cast("double").alias(c) for c in INPUT_COLUMNS))


@dataclass(frozen=True)
class Scored:
    """The scored customers (lazy) with the counts the scoring already knows: no Spark job needed for them."""

    frame: DataFrame
    customers: int
    distinct_tuples: int  # distinct (frequency, recency, T): what the frequency model scored


def score_customers(
    features: DataFrame,
    frequency_model: FrequencyModel,
    monetary_model: GammaGammaModel,
    spec: ScoringSpec,
    frequency_ref: ModelRef,
    monetary_ref: ModelRef,
) -> Scored:
    """One row per customer of ``features``: its inputs, the scores of ``score_columns(spec)`` and the model versions.

    Spark compresses the customers to their distinct (frequency, recency, T) with counts, as training does; the
    models score those tuples on the driver (:func:`frequency_scores`, no Python worker) and Spark joins the scores
    back to every customer and applies the spend line to its own monetary value. No customer reaches the driver.
    """
    check_features(features)
    inputs = _model_inputs(features)
    groups = inputs.groupBy(*FREQUENCY_INPUTS).agg(F.count(F.lit(1)).alias("n")).toPandas()
    table = frequency_scores(groups, frequency_model, monetary_model, spec)
    scores = features.sparkSession.createDataFrame(table)
    if len(table) <= BROADCAST_MAX_TUPLES:
        scores = F.broadcast(scores)
    spend = F.col(SPEND_BASE) + F.col(SPEND_SLOPE) * F.col("monetary_value")
    joined = inputs.join(scores, on=list(FREQUENCY_INPUTS), how="left").withColumn("expected_avg_spend", spend)
    frame = joined.select(
        *KEY_COLUMNS,
        *INPUT_COLUMNS,
        *score_columns(spec)[:-1],
        (F.col("expected_avg_spend") * F.col(DISCOUNTED)).alias("clv"),
        F.lit(frequency_ref.name).alias("frequency_model_name"),
        F.lit(str(frequency_ref.version)).alias("frequency_model_version"),
        F.lit(monetary_ref.name).alias("monetary_model_name"),
        F.lit(str(monetary_ref.version)).alias("monetary_model_version"),
    )
    return Scored(frame, int(groups["n"].sum()), len(groups))


def checked_thresholds(scored: DataFrame, spec: ScoringSpec, quantiles: Sequence[float], shown: int = 5,
                       relative_error: float = 1e-4) -> list[float]:
    """CLV values at ``quantiles`` over all customers, after checking that every score is finite: one aggregation
    (Spark's ``percentile_approx``; only these numbers reach the driver).

    Raises ``DataError`` naming the inputs whose scores are NaN, infinite or null, so that none reaches a table.
    """
    columns = score_columns(spec)
    not_finite = {c: F.col(c).isNull() | F.isnan(c) | (F.abs(F.col(c)) == float("inf")) for c in columns}
    any_bad = F.greatest(*[flag.cast("int") for flag in not_finite.values()]) > 0
    accuracy = round(1 / relative_error)
    row = scored.agg(
        F.count(F.when(any_bad, 1)).alias("bad"),
        *([F.percentile_approx("clv", list(quantiles), accuracy).alias("q")] if quantiles else []),
    ).collect()[0]  # an aggregate without grouping: one row
    if row["bad"]:
        _raise_not_finite(scored, not_finite, any_bad, int(row["bad"]), shown)
    return [float(v) for v in row["q"]] if quantiles else []


def _raise_not_finite(scored: DataFrame, not_finite: dict[str, Column], any_bad: Column, count: int,
                      shown: int) -> NoReturn:
    flags = scored.where(any_bad).select(*INPUT_COLUMNS, *[flag.alias(c) for c, flag in not_finite.items()])
    rows = flags.distinct().limit(shown).collect()
    examples = "; ".join(
        ", ".join(f"{c}={row[c]}" for c in INPUT_COLUMNS) + " -> " + ", ".join(c for c in not_finite if row[c])
        for row in rows
    )
    raise DataError(
        f"{count} customers got non-finite scores, e.g. {examples}. Nothing was written. Check these customers' "
        "features (data.freq / data.freq_multiplier give recency and T their unit) and the model parameters; "
        "a strongly penalized or degenerate model (model.frequency.penalizer) can cause this."
    )


def assign_value_tiers(scored: DataFrame, thresholds: Sequence[float], labels: Sequence[str]) -> DataFrame:
    """Add ``value_tier``: ``labels[i]`` for CLV above ``thresholds[i-1]`` and at most ``thresholds[i]``.

    The lowest label holds CLV at or below the first threshold; the highest, CLV above the last one.

    Raises ``ValueError`` when the labels do not number one more than the thresholds.
    """
    if len(labels) != len(thresholds) + 1:
        raise ValueError(f"labels needs one more entry than thresholds ({len(thresholds)} thresholds, "
                         f"{len(labels)} labels)")
    tier = F.lit(labels[0])
    for threshold, label in zip(thresholds, labels[1:], strict=True):
        tier = F.when(F.col("clv") > F.lit(threshold), F.lit(label)).otherwise(tier)
    return scored.withColumn("value_tier", tier)
