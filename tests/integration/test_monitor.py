"""`gda-clv monitor` on two scoring runs of a CDNOW subset at observation ends 30 days apart (local Spark, sqlite
MLflow): drift rows for the second as_of against the first, and a performance-over-time row for the first. Monitor
reads prepare's input summary, never the source (the tests delete it before monitoring)."""
from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from gda_clv.data.rfm import period_index_of
from gda_clv.errors import DataError
from gda_clv.monitoring import inputs, tracking
from gda_clv.monitoring.inputs import LEVELS
from gda_clv.pipelines import monitor, prepare, project, train_frequency, train_monetary
from gda_clv.pipelines.monitor import FEATURE_COLUMNS, PREVIOUS, TRAINING
from gda_clv.utils.common import JobContext
from tests.chromium import decoded_image_widths

pytestmark = pytest.mark.slow


@pytest.fixture()
def source(tmp_path: Path, cdnow_subset: Path) -> Path:
    """A copy of the CDNOW subset that a test may delete."""
    path = tmp_path / "source.txt"
    shutil.copyfile(cdnow_subset, path)
    return path


@pytest.fixture()
def contexts(spark, tmp_path: Path, source: Path) -> Iterator[object]:
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    schema = f"mon_{uuid.uuid4().hex[:8]}"

    def make(observation_end: str, *extra: str) -> JobContext:
        overrides = (
            f"runtime.state_dir={tmp_path}", f"tables.schema={schema}", f"data.source.path={source}",
            "data.freq=W", "data.freq_multiplier=1", f"data.observation_end={observation_end}",
            "model.frequency.tuning.max_evals=2", "model.monetary.tuning.max_evals=2", *extra,
        )
        context = JobContext(env="local", spark=spark, overrides=overrides)
        context.setup_mlflow()  # what gda-clv does at the edge
        return context

    yield make
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_two_scoring_runs_give_drift_and_performance_rows(contexts, source: Path) -> None:
    first = contexts("1998-05-31")
    for step in (prepare, train_frequency, train_monetary, project):
        step.run(first)
    alone = monitor.run(first)
    assert alone["monitoring"]["reference_as_of"] is None  # no previous as_of: only the champion's training window
    assert {m["reference"] for m in alone["monitoring"]["metrics"]} == {"current", TRAINING}

    second = contexts("1998-06-30")  # 30 days later: the first as_of's 30-day horizon has elapsed
    prepare.run(second)
    project.run(second)
    source.unlink()  # monitor reads the input summary prepare wrote, not the source
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
    assert page.count('src="data:image/png;base64,') == 4 and "1998-06-30" in page
    widths = decoded_image_widths(Path(summary["outputs"]["report_path"]))
    assert len(widths) == 4 and min(widths) > 100  # the real report's figures decode in Chromium
    breached = [m for m in mon["metrics"] if m["breached"]]
    assert len(mon["alerts"]) == len(breached)
    assert mlflow.get_run(summary["mlflow_run_id"]).data.metrics["psi.clv.previous_as_of"] >= 0


def _log(cdnow: Path, keep_zero: bool) -> pd.DataFrame:
    """The CDNOW file with pandas: id, date, amount and whether the row is a clean purchase."""
    log = pd.read_csv(cdnow, sep=r"\s+", skiprows=1, names=["id", "date", "cds", "amount"], dtype={"date": str})
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d").dt.date
    log["clean"] = log["amount"] >= 0 if keep_zero else log["amount"] > 0
    return log


def _levels(cdnow: Path, start: dt.date, end: dt.date, keep_zero: bool) -> dict[str, float]:
    """The input levels of start..end recomputed with pandas from the CDNOW file (data.keep_zero_amounts)."""
    log = _log(cdnow, keep_zero)
    first = log[log["clean"]].groupby("id")["date"].min()
    window = log[(log["date"] >= start) & (log["date"] <= end)]
    clean = window[window["clean"]]
    pairs = clean[["id", "date"]].drop_duplicates()
    return {"transactions_per_day": len(clean) / ((end - start).days + 1),
            "new_customer_share": float((pairs["date"].to_numpy() == first.loc[pairs["id"]].to_numpy()).mean()),
            "quarantine_share": 1 - len(clean) / len(window)}


def _period_counts(cdnow: Path, end: dt.date, keep_zero: bool) -> tuple[dict[int, int], dict[int, int]]:
    """The tracking plot's weekly cohort and repeat counts up to ``end``, per customer with pandas from the file."""
    log = _log(cdnow, keep_zero)
    clean = log[log["clean"] & (log["date"] <= end)]
    periods = clean.assign(p=[period_index_of(d, "W") for d in clean["date"]])[["id", "p"]].drop_duplicates()
    starts = periods.groupby("id")["p"].min()
    later = periods[periods["p"].to_numpy() > starts.loc[periods["id"]].to_numpy()]
    return ({int(p): int(n) for p, n in starts.value_counts().items()},
            {int(p): int(n) for p, n in later["p"].value_counts().items()})


def _assert_levels(by_key: dict, windows: dict, expected: dict) -> None:
    for reference, levels in expected.items():
        for name, value in levels.items():
            assert by_key[(name, "input", reference)]["reference_as_of"] == windows[reference][1].isoformat()
            assert by_key[(name, "input", reference)]["value"] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_input_data_against_previous_as_of_and_champion_training(contexts, cdnow_subset: Path) -> None:
    first = contexts("1998-05-31")
    for step in (prepare, train_frequency, train_monetary, project):
        step.run(first)
    second = contexts("1998-06-30")
    prepare.run(second)
    project.run(second)
    alone = monitor.run(first)  # prepare tagged the rows after 1998-05-31 and summarised the days up to it
    summary = monitor.run(second)
    champion = summary["monitoring"]["references"][TRAINING]
    assert summary["monitoring"]["references"][PREVIOUS] == "1998-05-31"
    assert champion["as_of"] == "1998-05-31" and champion["model"].endswith("/1")
    calibration_end = dt.date.fromisoformat(champion["calibration_end"])
    trained_on = second.tables.read(second.feature_table.full_name).where("as_of = '1998-05-31'")
    assert calibration_end == trained_on.select("calibration_end").first()[0]  # what prepare framed the training with

    rows = second.tables.read(second.monitoring_table_name).where("as_of = '1998-06-30'").collect()
    by_key = {(r["metric"], r["column"], r["reference"]): r for r in rows}
    windows = {"current": (dt.date(1998, 6, 1), dt.date(1998, 6, 30)),
               PREVIOUS: (dt.date(1998, 5, 2), dt.date(1998, 5, 31)),
               TRAINING: (dt.date(1997, 1, 1), calibration_end)}
    keep_zero = second.config.data.keep_zero_amounts
    expected = {name: _levels(cdnow_subset, *span, keep_zero) for name, span in windows.items()}
    _assert_levels(by_key, windows, expected)
    first_rows = {(m["metric"], m["column"], m["reference"]): m for m in alone["monitoring"]["metrics"]}
    first_windows = {"current": (dt.date(1998, 5, 2), dt.date(1998, 5, 31)), TRAINING: windows[TRAINING]}
    _assert_levels(first_rows, first_windows,
                   {name: _levels(cdnow_subset, *span, keep_zero) for name, span in first_windows.items()})
    stored = second.tables.read(second.input_summary_table_name)
    for as_of in (dt.date(1998, 5, 31), dt.date(1998, 6, 30)):
        days = inputs.days_of(stored.where(f"as_of = '{as_of}'"), "W")
        assert max(d.date for d in days) <= as_of
        assert tracking.period_counts(days, "W", as_of) == _period_counts(cdnow_subset, as_of, keep_zero)
    for reference in (PREVIOUS, TRAINING):
        for name in LEVELS:
            row = by_key[(f"{name}_change", "input", reference)]
            assert row["threshold"] is not None and row["breached"] == (abs(row["value"]) > row["threshold"])
        assert ("psi", "amount", reference) in by_key and ("ks", "amount", reference) in by_key
    volume = by_key[("transactions_per_day_change", "input", TRAINING)]
    assert volume["value"] == pytest.approx(expected["current"]["transactions_per_day"]
                                            / expected[TRAINING]["transactions_per_day"] - 1)
    assert volume["breached"]  # CDNOW is one 1997 cohort: its purchases per day fell far below the training months
    assert by_key[("new_customer_share", "input", TRAINING)]["value"] > 0.3
    assert by_key[("new_customer_share", "input", "current")]["value"] == 0.0  # no new customers in 1998
    for column in FEATURE_COLUMNS:
        assert by_key[("psi", column, TRAINING)]["reference_as_of"] == champion["calibration_end"]
    assert any("vs champion_training" in a for a in summary["monitoring"]["alerts"])


def test_fail_on_alert_fails_the_step(contexts) -> None:
    ctx = contexts("1998-05-31", "monitoring.thresholds.ks=0.0001", "monitoring.fail_on_alert=true")
    for step in (prepare, train_frequency, train_monetary, project):
        step.run(ctx)
    later = contexts("1998-06-30", "monitoring.thresholds.ks=0.0001", "monitoring.fail_on_alert=true",
                     "data.skip_if_unchanged=true")
    prepare.run(later)
    project.run(later)
    # an as_of prepared by a version without the input summary: a clear error, and an unchanged prepare writes it
    stored = later.tables.read(later.input_summary_table_name)
    later.tables.replace_where(stored.limit(0), later.input_summary_table_name, "as_of", dt.date(1998, 6, 30))
    with pytest.raises(DataError, match=r"No input summary for as_of 1998-06-30 .* older gda_clv version\. Re-run "
                                        r"prepare for it: `gda-clv prepare --env local --set "
                                        r"data.observation_end=1998-06-30`"):
        monitor.run(later)
    assert prepare.run(later)["status"] == "skipped"
    summary = monitor.run(later)
    assert summary["status"] == "failed" and summary["monitoring"]["status"] == "alert"
    assert any(a.startswith("ks(") for a in summary["monitoring"]["alerts"])
