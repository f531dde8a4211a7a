"""Distribution distances between a reference and a current column, computed in Spark on binned data.

Bin edges are quantiles of the reference (``approxQuantile``); both sides are bucketed and counted in Spark, and
only the per-bin counts (at most ``bins`` rows) reach the driver. PSI and the two-sample KS statistic are then
computed from those counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pyspark.ml.feature import Bucketizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

EPSILON = 1e-4  # floor for an empty bin's share, so PSI stays finite


@dataclass(frozen=True)
class Drift:
    """PSI and KS of one column; ``bins`` are (reference share, current share) per bin."""

    psi: float
    ks: float
    bins: tuple[tuple[float, float], ...]


def bin_edges(reference: DataFrame, column: str, bins: int = 10) -> list[float]:
    """Distinct reference quantile edges, open at both ends."""
    probabilities = [i / bins for i in range(1, bins)]
    quantiles = reference.select(F.col(column).cast("double").alias(column)).na.drop().approxQuantile(
        column, probabilities, 0.001
    )
    inner = sorted(set(quantiles))
    return [-math.inf, *inner, math.inf]


def bin_shares(df: DataFrame, column: str, edges: list[float]) -> list[float]:
    """Share of the non-null values of ``column`` in each bin (counted in Spark)."""
    values = df.select(F.col(column).cast("double").alias("_v")).na.drop()
    bucketed = Bucketizer(splits=edges, inputCol="_v", outputCol="_bin").transform(values)
    counts = {int(r["_bin"]): int(r["n"]) for r in bucketed.groupBy("_bin").agg(F.count(F.lit(1)).alias("n")).collect()}
    total = sum(counts.values())
    return [counts.get(i, 0) / total if total else 0.0 for i in range(len(edges) - 1)]


def psi(reference: list[float], current: list[float]) -> float:
    """Population stability index of two binned distributions."""
    total = 0.0
    for p, q in zip(reference, current, strict=True):
        p, q = max(p, EPSILON), max(q, EPSILON)
        total += (q - p) * math.log(q / p)
    return total


def ks(reference: list[float], current: list[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic on the binned CDFs."""
    cdf_p = cdf_q = gap = 0.0
    for p, q in zip(reference, current, strict=True):
        cdf_p, cdf_q = cdf_p + p, cdf_q + q
        gap = max(gap, abs(cdf_p - cdf_q))
    return gap


def column_drift(reference: DataFrame, current: DataFrame, column: str, bins: int = 10) -> Drift:
    """PSI and KS of ``column`` in ``current`` against ``reference``, binned on reference quantiles."""
    edges = bin_edges(reference, column, bins)
    ref, cur = bin_shares(reference, column, edges), bin_shares(current, column, edges)
    return Drift(psi=psi(ref, cur), ks=ks(ref, cur), bins=tuple(zip(ref, cur, strict=True)))
