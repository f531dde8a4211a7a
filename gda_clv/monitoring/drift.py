"""Distribution distances between a reference and a current column, computed in Spark on binned data.

Bin edges are quantiles of the reference (``approxQuantile``; all columns of one reference frame in one pass); values
are bucketed with the edges and counted in Spark (every histogram over one frame in one aggregation), and only the
per-bin counts reach the driver. PSI and the two-sample KS statistic are then computed from those counts. A value is
a column expression: null (or NaN) leaves the row out, so one frame holds several references and the current rows.

Data already counted on a fine grid (the input amounts: :func:`gda_clv.monitoring.inputs.daily_summary`) take
:func:`histogram_drift`: the same quantile bins, with each edge snapped down to the start of the grid bin that holds
the reference quantile (within the grid's step of the quantile, exact ranks instead of ``approxQuantile``'s 0.001).
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pyspark.ml.feature import Bucketizer
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

EPSILON = 1e-4  # floor for an empty bin's share, so PSI stays finite
RELATIVE_ERROR = 0.001  # of the reference quantiles (approxQuantile)
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Drift:
    """PSI and KS of one column; ``bins`` are (reference share, current share) per bin."""

    psi: float
    ks: float
    bins: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Comparison:
    """A current column against a reference column: value expressions over one frame, null outside their rows."""

    reference: Column
    current: Column


def _value(expression: Column) -> Column:
    """``expression`` as a double, NaN as null: both are left out of quantiles and bins."""
    value = expression.cast("double")
    return F.when(~F.isnan(value), value)


def quantile_edges(reference: DataFrame, columns: Mapping[K, Column], bins: int = 10) -> dict[K, list[float]]:
    """Each column's distinct reference quantile edges, open at both ends; one pass over ``reference`` for all."""
    if not columns:
        return {}
    keys = list(columns)
    names = [f"_q{i}" for i in range(len(keys))]
    values = reference.select(*(_value(columns[k]).alias(n) for k, n in zip(keys, names, strict=True)))
    quantiles = values.approxQuantile(names, [i / bins for i in range(1, bins)], RELATIVE_ERROR)
    return {k: [-math.inf, *sorted(set(q)), math.inf] for k, q in zip(keys, quantiles, strict=True)}


def bin_shares(df: DataFrame, histograms: Mapping[K, tuple[Column, Sequence[float]]]) -> dict[K, list[float]]:
    """Share of each histogram's non-null values in each of its bins (value expression, edges): one aggregation."""
    if not histograms:
        return {}
    keys = list(histograms)
    values = df.select(*(_value(histograms[k][0]).alias(f"_v{i}") for i, k in enumerate(keys)))
    split = [i for i, k in enumerate(keys) if len(histograms[k][1]) > 2]  # one bin: every value is in bin 0
    if split:
        values = Bucketizer(splitsArray=[list(histograms[keys[i]][1]) for i in split],
                            inputCols=[f"_v{i}" for i in split], outputCols=[f"_b{i}" for i in split]).transform(values)
    bucket = [F.col(f"_b{i}") if i in split else F.when(F.col(f"_v{i}").isNotNull(), F.lit(0.0))
              for i in range(len(keys))]
    # one (histogram, bin) row per value, counted by group: a few expressions however many bins
    stacked = values.select(F.inline(F.array(*(F.struct(F.lit(i).alias("h"), b.cast("int").alias("b"))
                                               for i, b in enumerate(bucket)))))
    counts = {(int(r["h"]), int(r["b"])): int(r["n"]) for r in
              stacked.where(F.col("b").isNotNull()).groupBy("h", "b").agg(F.count(F.lit(1)).alias("n")).collect()}
    shares = {}
    for i, k in enumerate(keys):
        n = [counts.get((i, j), 0) for j in range(len(histograms[k][1]) - 1)]
        total = sum(n)
        shares[k] = [c / total if total else 0.0 for c in n]
    return shares


def compare(df: DataFrame, comparisons: Mapping[K, Comparison], edges: Mapping[K, Sequence[float]]) -> dict[K, Drift]:
    """PSI and KS of each comparison, binned on its ``edges``: every histogram counted in one pass over ``df``."""
    histograms = {(k, side): (getattr(c, side), edges[k]) for k, c in comparisons.items()
                  for side in ("reference", "current")}
    shares = bin_shares(df, histograms)
    return {k: drift(shares[(k, "reference")], shares[(k, "current")]) for k in comparisons}


def histogram_edges(reference: Mapping[int, int], bins: int = 10) -> list[int]:
    """The grid bins where the reference's quantiles ``1/bins .. (bins-1)/bins`` fall, distinct and ascending.

    ``reference`` counts values by grid bin (ordered like the values). The q-quantile is the k-th smallest value,
    k = ceil(q * n); its grid bin is the first whose cumulative count reaches k. No values: no edges (one bin).
    """
    n = sum(reference.values())
    edges: list[int] = []
    if not n:
        return edges
    cumulative, wanted = 0, 1
    for grid_bin in sorted(reference):
        cumulative += reference[grid_bin]
        while wanted < bins and cumulative * bins >= wanted * n:  # cumulative >= ceil(wanted * n / bins)
            if not edges or edges[-1] != grid_bin:
                edges.append(grid_bin)
            wanted += 1
    return edges


def histogram_drift(reference: Mapping[int, int], current: Mapping[int, int], bins: int = 10) -> Drift:
    """PSI and KS of two grid histograms on the reference's :func:`histogram_edges`: drift bin j holds the grid bins
    from edge j-1 (inclusive) to edge j, the first and last bins are open."""
    edges = histogram_edges(reference, bins)

    def shares(counts: Mapping[int, int]) -> list[float]:
        binned = [0] * (len(edges) + 1)
        for grid_bin, count in counts.items():
            binned[bisect_right(edges, grid_bin)] += count
        total = sum(binned)
        return [c / total if total else 0.0 for c in binned]

    return drift(shares(reference), shares(current))


def drift(reference: list[float], current: list[float]) -> Drift:
    """PSI and KS of two binned distributions (shares per bin)."""
    bins = tuple(zip(reference, current, strict=True))
    return Drift(psi=psi(reference, current), ks=ks(reference, current), bins=bins)


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
