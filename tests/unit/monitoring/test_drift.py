"""Drift metrics on binned Spark data and alert evaluation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.ml.feature import Bucketizer
from pyspark.sql import functions as F

from gda_clv.monitoring import alerts, drift, inputs


def _column_drift(reference, current, column, bins=10):
    edges = drift.quantile_edges(reference, {column: F.col(column)}, bins)[column]
    ref = drift.bin_shares(reference, {column: (F.col(column), edges)})[column]
    cur = drift.bin_shares(current, {column: (F.col(column), edges)})[column]
    return drift.drift(ref, cur)


def test_psi_and_ks_zero_for_same_data(spark):
    df = spark.createDataFrame([(float(i),) for i in range(200)], ["x"])
    result = _column_drift(df, df, "x", bins=10)
    assert result.psi == pytest.approx(0.0, abs=1e-9)
    assert result.ks == pytest.approx(0.0, abs=1e-9)
    assert len(result.bins) == 10


def test_shifted_data_breaches(spark):
    ref = spark.createDataFrame([(float(i),) for i in range(200)], ["x"])
    cur = spark.createDataFrame([(float(i) + 100.0,) for i in range(200)], ["x"])
    result = _column_drift(ref, cur, "x", bins=10)
    assert result.ks == pytest.approx(0.5, abs=0.02)  # half of current lies above every reference value
    assert result.psi > 1.0
    row = alerts.evaluate("2026-01-02", "psi", "x", result.psi, 0.2, "2026-01-01")
    assert row.breached
    assert alerts.alerts([row])[0].startswith("psi(x)")
    assert not alerts.evaluate("d", "psi", "x", 0.1, 0.2).breached
    assert not alerts.evaluate("d", "psi", "x", 5.0, None).breached


def test_psi_ks_formulas():
    assert drift.ks([0.5, 0.5], [1.0, 0.0]) == pytest.approx(0.5)
    assert drift.psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.274653, rel=1e-4)


def _one_column_at_a_time(frame, side, column, bins):
    """The definition, one frame and one job per step: quantiles of the reference rows alone, then each side's rows
    bucketed and counted on their own (``side`` = 0 reference, 1 current)."""
    def rows(s):
        return frame.where(F.col("side") == s).select(F.col(column).cast("double").alias("v")).na.drop()

    quantiles = rows(0).approxQuantile("v", [i / bins for i in range(1, bins)], drift.RELATIVE_ERROR)
    edges = [-math.inf, *sorted(set(quantiles)), math.inf]
    shares = []
    for s in (0, 1):
        counted = Bucketizer(splits=edges, inputCol="v", outputCol="b").transform(rows(s)).groupBy("b").count()
        counts = {int(r["b"]): r["count"] for r in counted.collect()}
        shares.append([counts.get(i, 0) / sum(counts.values()) for i in range(len(edges) - 1)])
    return edges, drift.drift(*shares)


def test_batched_drift_equals_one_column_at_a_time(spark):
    """Every column's edges from one quantile pass and every histogram from one aggregation give what separate
    passes give: same edges, same shares; ties on edges, -0.0, NaN and nulls included."""
    rng = np.random.default_rng(3)
    values = [(s, float(rng.integers(0, 6)), float(rng.gamma(2.0, 30.0)), float(rng.normal()) if i % 7 else None,
               [-0.0, 0.0, 1.0, math.nan][i % 4]) for s in (0, 1) for i in range(3000 if s == 0 else 2000)]
    frame = spark.createDataFrame(values, "side int, ties double, spend double, sparse double, odd double").cache()
    columns = ["ties", "spend", "sparse", "odd"]
    reference = frame.where(F.col("side") == 0)
    edges = drift.quantile_edges(reference, {c: F.col(c) for c in columns}, 10)
    side = {s: {c: F.when(F.col("side") == s, F.col(c)) for c in columns} for s in (0, 1)}
    results = drift.compare(frame, {c: drift.Comparison(side[0][c], side[1][c]) for c in columns}, edges)
    for column in columns:
        expected_edges, expected = _one_column_at_a_time(frame, 0, column, 10)
        assert edges[column] == expected_edges
        assert results[column] == expected
    assert results["spend"].psi < 0.1 and len(edges["ties"]) < 11  # repeated quantiles collapse into one edge


def test_an_empty_reference_has_one_bin(spark):
    frame = spark.createDataFrame([(None, 1.0), (None, 2.0)], "ref double, cur double")
    edges = drift.quantile_edges(frame, {"x": F.col("ref")})
    assert edges == {"x": [-math.inf, math.inf]}
    result = drift.compare(frame, {"x": drift.Comparison(F.col("ref"), F.col("cur"))}, edges)["x"]
    assert result.bins == ((0.0, 1.0),) and result.ks == 1.0


def _grid(values):
    """Values counted by grid bin, as prepare's summary counts the amounts."""
    bins = np.floor(np.log(values) / np.log(inputs.GRID_STEP)).astype(int)
    return {int(b): int(n) for b, n in zip(*np.unique(bins, return_counts=True), strict=True)}


def test_histogram_edges_are_the_quantiles_snapped_to_the_grid():
    rng = np.random.default_rng(11)
    for values in (rng.gamma(2.0, 30.0, 997), rng.integers(1, 6, 500).astype(float), np.array([7.0])):
        edges = drift.histogram_edges(_grid(values), 10)
        ordered = np.sort(values)
        quantiles = [ordered[max(math.ceil(i * len(values) / 10), 1) - 1] for i in range(1, 10)]
        expected = sorted({int(np.floor(np.log(q) / np.log(inputs.GRID_STEP))) for q in quantiles})
        assert edges == expected
        for q in quantiles:  # the snapped edge is within the grid's 1% below the quantile
            edge = max(e for e in edges if inputs.bin_start(e) <= q)
            assert q / 1.01 < inputs.bin_start(edge) <= q
    assert drift.histogram_edges({}, 10) == []


def test_histogram_drift_equals_bucketing_the_values_on_the_snapped_edges(spark):
    """The summary's drift is what bucketing every value on the snapped edges gives (the old path, with those edges
    instead of approxQuantile's)."""
    rng = np.random.default_rng(4)
    reference, current = rng.gamma(2.0, 30.0, 3000), rng.gamma(2.2, 28.0, 2000)
    edges = drift.histogram_edges(_grid(reference), 10)
    result = drift.histogram_drift(_grid(reference), _grid(current), 10)
    rows = [(0, float(v)) for v in reference] + [(1, float(v)) for v in current]
    frame = spark.createDataFrame(rows, "side int, x double")
    split = [-math.inf, *(inputs.bin_start(e) for e in edges), math.inf]
    bucketed = drift.compare(frame, {"x": drift.Comparison(F.when(F.col("side") == 0, F.col("x")),
                                                           F.when(F.col("side") == 1, F.col("x")))}, {"x": split})
    assert len(result.bins) == 10
    assert result == bucketed["x"]
    assert drift.histogram_drift({}, _grid(current)).bins == ((0.0, 1.0),)
