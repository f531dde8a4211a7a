"""Drift metrics on binned Spark data and alert evaluation."""
from __future__ import annotations

import pytest

from gda_clv.monitoring import alerts, drift


def test_psi_and_ks_zero_for_same_data(spark):
    df = spark.createDataFrame([(float(i),) for i in range(200)], ["x"])
    result = drift.column_drift(df, df, "x", bins=10)
    assert result.psi == pytest.approx(0.0, abs=1e-9)
    assert result.ks == pytest.approx(0.0, abs=1e-9)
    assert len(result.bins) == 10


def test_shifted_data_breaches(spark):
    ref = spark.createDataFrame([(float(i),) for i in range(200)], ["x"])
    cur = spark.createDataFrame([(float(i) + 100.0,) for i in range(200)], ["x"])
    result = drift.column_drift(ref, cur, "x", bins=10)
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
