"""Score every customer in Spark: P(alive), expected purchases per horizon, expected spend, CLV and a value tier.

Pure Spark: DataFrame and fitted models in, DataFrame out; no config, no I/O. Customers never reach the driver:
the distinct (frequency, recency, T, monetary_value) tuples are scored once each by ``mapInPandas`` with the model
parameters broadcast, and the scores are joined back to the customers. Only the tier thresholds (a few numbers)
are collected.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.errors import ConfigError, DataError
from gda_clv.names import CALENDAR_MONTH_DAYS, DAYS_PER_PERIOD

if TYPE_CHECKING:
    from gda_clv.models.frequency import FrequencyModel
    from gda_clv.models.gamma_gamma import GammaGammaModel

INPUT_COLUMNS = ("frequency", "recency", "T", "monetary_value")
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
            raise ConfigError(f"data.freq must be one of {', '.join(DAYS_PER_PERIOD)} (got {self.freq!r}).")
        if any(int(d) <= 0 for d in self.horizons_days):
            raise ConfigError(
                f"projection.horizons_days must be positive numbers of days (got {list(self.horizons_days)})."
            )

    def periods(self, days: float) -> float:
        """``days`` in model periods (the unit of recency and T)."""
        return days / (DAYS_PER_PERIOD[self.freq] * self.freq_multiplier)


def purchases_column(days: int) -> str:
    """Name of the expected-purchases column for a horizon of ``days``."""
    return f"expected_purchases_{int(days)}d"


def score_columns(spec: ScoringSpec) -> list[str]:
    """The per-tuple score columns, in output order."""
    return ["p_alive", *(purchases_column(d) for d in spec.horizons_days), "expected_avg_spend", "clv"]


def score_tuples(
    pdf: pd.DataFrame, frequency_model: FrequencyModel, monetary_model: GammaGammaModel, spec: ScoringSpec
) -> pd.DataFrame:
    """Score a pandas frame of (frequency, recency, T, monetary_value) rows; returns the inputs plus the scores."""
    from gda_clv.models.clv import customer_lifetime_value

    f, r, t, m = (pdf[c].to_numpy(dtype=float) for c in INPUT_COLUMNS)
    out = pdf[list(INPUT_COLUMNS)].astype(float).reset_index(drop=True)
    out["p_alive"] = np.asarray(frequency_model.probability_alive(f, r, t), dtype=float)
    for days in spec.horizons_days:
        expected = frequency_model.expected_purchases(spec.periods(days), f, r, t)
        out[purchases_column(days)] = np.asarray(expected, dtype=float)
    out["expected_avg_spend"] = np.asarray(monetary_model.expected_average_spend(f, m), dtype=float)
    clv = customer_lifetime_value(
        frequency_model, monetary_model, f, r, t, m,
        time_months=spec.horizon_months, discount_rate=spec.discount_rate,
        freq=spec.freq, freq_multiplier=spec.freq_multiplier, month_days=spec.month_days,
    )
    out["clv"] = np.asarray(clv, dtype=float)
    return out


def _shipped(spark: Any, value: Any) -> Callable[[], Any]:
    """A getter for ``value`` on the executors: a broadcast variable where the session has a SparkContext.

    Spark Connect (serverless, shared clusters) has no SparkContext; there the value travels in the closure.
    """
    try:
        broadcast = spark.sparkContext.broadcast(value)
    except Exception:  # Spark Connect: no sparkContext attribute / not supported
        return lambda: value
    return lambda: broadcast.value


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


def distinct_inputs(features: DataFrame) -> DataFrame:
    """The distinct (frequency, recency, T, monetary_value) tuples: what the models actually score."""
    check_features(features)
    return _model_inputs(features).select(*INPUT_COLUMNS).distinct()


def score_customers(
    features: DataFrame,
    frequency_model: FrequencyModel,
    monetary_model: GammaGammaModel,
    spec: ScoringSpec,
    frequency_ref: ModelRef,
    monetary_ref: ModelRef,
) -> DataFrame:
    """One row per customer of ``features``: its inputs, the scores of ``score_columns(spec)`` and the model versions.

    ``frequency_model`` / ``monetary_model`` are gda_clv models (``to_dict`` / ``from_dict``); only their
    parameters are shipped to the executors. Customers with identical inputs are scored once.
    """
    check_features(features)
    from gda_clv.models.frequency import FrequencyModel
    from gda_clv.models.gamma_gamma import GammaGammaModel

    get_params = _shipped(features.sparkSession, (frequency_model.to_dict(), monetary_model.to_dict()))

    def score_batches(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        freq_state, monetary_state = get_params()
        fm, mm = FrequencyModel.from_dict(freq_state), GammaGammaModel.from_dict(monetary_state)
        for batch in batches:
            yield score_tuples(batch, fm, mm, spec)

    inputs = _model_inputs(features)
    schema = ", ".join(f"`{c}` double" for c in (*INPUT_COLUMNS, *score_columns(spec)))
    scored = distinct_inputs(inputs).mapInPandas(score_batches, schema)
    joined = inputs.join(scored, on=list(INPUT_COLUMNS), how="left")
    return joined.select(
        *KEY_COLUMNS,
        *INPUT_COLUMNS,
        *score_columns(spec),
        F.lit(frequency_ref.name).alias("frequency_model_name"),
        F.lit(str(frequency_ref.version)).alias("frequency_model_version"),
        F.lit(monetary_ref.name).alias("monetary_model_name"),
        F.lit(str(monetary_ref.version)).alias("monetary_model_version"),
    )


def check_finite(scored: DataFrame, spec: ScoringSpec, shown: int = 5) -> None:
    """DataError naming the inputs whose scores are NaN, infinite or null, so that none reaches a table."""
    columns = score_columns(spec)
    not_finite = [F.col(c).isNull() | F.isnan(c) | (F.abs(F.col(c)) == float("inf")) for c in columns]
    flags = scored.select(*INPUT_COLUMNS, *[flag.alias(c) for flag, c in zip(not_finite, columns, strict=True)])
    any_bad = F.greatest(*[F.col(c).cast("int") for c in columns]) > 0
    rows = flags.where(any_bad).distinct().limit(shown).collect()
    if not rows:
        return
    count = flags.where(any_bad).count()
    examples = "; ".join(
        ", ".join(f"{c}={row[c]}" for c in INPUT_COLUMNS) + " -> " + ", ".join(c for c in columns if row[c])
        for row in rows
    )
    raise DataError(
        f"{count} customers got non-finite scores, e.g. {examples}. Nothing was written. Check these customers' "
        "features (data.freq / data.freq_multiplier give recency and T their unit) and the model parameters; "
        "a strongly penalized or degenerate model (model.frequency.penalizer) can cause this."
    )


def tier_thresholds(scored: DataFrame, quantiles: Sequence[float], relative_error: float = 1e-4) -> list[float]:
    """CLV values at ``quantiles`` over all customers (Spark's approxQuantile; only these numbers reach the driver)."""
    if not quantiles:
        return []
    return [float(v) for v in scored.approxQuantile("clv", list(quantiles), relative_error)]


def assign_value_tiers(scored: DataFrame, thresholds: Sequence[float], labels: Sequence[str]) -> DataFrame:
    """Add ``value_tier``: ``labels[i]`` for CLV above ``thresholds[i-1]`` and at most ``thresholds[i]``.

    The lowest label holds CLV at or below the first threshold; the highest, CLV above the last one.

    Raises ``ConfigError`` when the labels do not number one more than the thresholds.
    """
    if len(labels) != len(thresholds) + 1:
        raise ConfigError(
            f"projection.tier_labels needs one more entry than projection.tier_quantiles "
            f"({len(thresholds)} quantiles, {len(labels)} labels)"
        )
    tier = F.lit(labels[0])
    for threshold, label in zip(thresholds, labels[1:], strict=True):
        tier = F.when(F.col("clv") > F.lit(threshold), F.lit(label)).otherwise(tier)
    return scored.withColumn("value_tier", tier)
