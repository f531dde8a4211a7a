"""`gda-clv monitor` on two scoring runs of a CDNOW subset at observation ends 30 days apart (local Spark, sqlite
MLflow): drift rows for the second as_of against the first, and a performance-over-time row for the first."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from gda_clv.pipelines import monitor, prepare, project, train_frequency, train_monetary
from gda_clv.utils.common import JobContext

pytestmark = pytest.mark.slow


@pytest.fixture()
def contexts(spark, tmp_path: Path, cdnow_subset: Path) -> Iterator[object]:
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    schema = f"mon_{uuid.uuid4().hex[:8]}"

    def make(observation_end: str, *extra: str) -> JobContext:
        overrides = (
            f"runtime.state_dir={tmp_path}", f"tables.schema={schema}", f"data.source.path={cdnow_subset}",
            "data.freq=W", "data.freq_multiplier=1", f"data.observation_end={observation_end}",
            "model.frequency.tuning.max_evals=2", "model.monetary.tuning.max_evals=2", *extra,
        )
        context = JobContext(env="local", spark=spark, overrides=overrides)
        context.setup_mlflow()  # what gda-clv does at the edge
        return context

    yield make
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_two_scoring_runs_give_drift_and_performance_rows(contexts) -> None:
    first = contexts("1998-05-31")
    for step in (prepare, train_frequency, train_monetary, project):
        step.run(first)
    alone = monitor.run(first)
    assert alone["monitoring"]["reference_as_of"] is None and alone["monitoring"]["metrics"] == []

    second = contexts("1998-06-30")  # 30 days later: the first as_of's 30-day horizon has elapsed
    prepare.run(second)
    project.run(second)
    summary = monitor.run(second)
    mon = summary["monitoring"]
    assert summary["as_of"] == "1998-06-30" and mon["reference_as_of"] == "1998-05-31"
    assert mon["status"] in {"ok", "alert"} and summary["status"] == "succeeded"

    table = second.tables.read(second.monitoring_table_name)
    drift = {(r["metric"], r["column"]) for r in table.where("as_of = '1998-06-30'").collect()}
    for column in ("frequency", "recency", "T", "monetary_value", "clv", "p_alive", "expected_purchases_30d"):
        assert ("psi", column) in drift and ("ks", column) in drift
    perf = {(r["metric"], r["column"]): r for r in table.where("as_of = '1998-05-31'").collect()}
    overall = perf[("purchases_bias", "30d")]
    assert overall["reference_as_of"] == "1998-06-30" and overall["threshold"] == 0.2
    actual, predicted = perf[("purchases_actual", "30d")]["value"], perf[("purchases_predicted", "30d")]["value"]
    assert actual > 0 and predicted > 0
    assert overall["value"] == pytest.approx((predicted - actual) / actual)
    assert ("purchases_bias", "90d") not in perf  # 90 days have not elapsed
    assert any(column.startswith("30d,value_tier=") for _, column in perf)
    page = Path(summary["outputs"]["report_path"]).read_text()
    assert page.count('src="data:image/png;base64,') == 2 and "1998-06-30" in page
    breached = [m for m in mon["metrics"] if m["breached"]]
    assert len(mon["alerts"]) == len(breached)
    assert mlflow.get_run(summary["mlflow_run_id"]).data.metrics["psi.clv"] >= 0


def test_fail_on_alert_fails_the_step(contexts) -> None:
    ctx = contexts("1998-05-31", "monitoring.thresholds.ks=0.0001", "monitoring.fail_on_alert=true")
    for step in (prepare, train_frequency, train_monetary, project):
        step.run(ctx)
    later = contexts("1998-06-30", "monitoring.thresholds.ks=0.0001", "monitoring.fail_on_alert=true")
    prepare.run(later)
    project.run(later)
    summary = monitor.run(later)
    assert summary["status"] == "failed" and summary["monitoring"]["status"] == "alert"
    assert any(a.startswith("ks(") for a in summary["monitoring"]["alerts"])
