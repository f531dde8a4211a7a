"""`gda-clv evidently-report` on local Spark: a bounded sample of the latest two scoring runs of a predictions
table reaches the driver, Evidently's drift page lands next to report.html and finds the shifted column."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gda_clv.errors import ConfigError, DataError
from gda_clv.utils import evidently_report
from gda_clv.utils.common import JobContext

COLUMNS = ["clv", "p_alive", "value_tier"]


def predictions(as_of: str, clv_scale: float, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(len(as_of) + int(clv_scale * 10))
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "as_of": pd.Timestamp(as_of).date(),
                         "clv": rng.gamma(2.0, 50.0 * clv_scale, n), "p_alive": rng.beta(5, 2, n),
                         "value_tier": rng.choice(["low", "medium", "high", "top"], n)})


@pytest.fixture()
def ctx(spark, tmp_path: Path) -> JobContext:
    context = JobContext(env="local", spark=spark, overrides=(
        f"runtime.state_dir={tmp_path}", f"tables.schema=evid_{uuid.uuid4().hex[:8]}"))
    run = Path(context.output_path) / "2026-01-02" / "run1"
    run.mkdir(parents=True)
    (run / "report.html").write_text("<html></html>")
    (Path(context.output_path) / "LATEST").write_text("2026-01-02/run1")
    return context


def write_runs(ctx: JobContext, *runs: pd.DataFrame) -> None:
    name = ctx.targets_table.full_name
    for frame in runs:
        ctx.tables.replace_where(ctx.spark.createDataFrame(frame), name, "as_of", frame["as_of"].iloc[0])


def test_sampled_report_next_to_report_html_finds_the_shift(ctx: JobContext) -> None:
    pytest.importorskip("evidently", reason="the optional extra gda_clv[evidently] (make env does not install it)")
    write_runs(ctx, predictions("2026-01-01", 1.0), predictions("2026-01-02", 2.0))
    done = evidently_report.write(ctx, COLUMNS, rows=500)
    assert done["as_of"] == "2026-01-02" and done["reference_as_of"] == "2026-01-01"
    assert all(0 < n <= 500 for n in done["sample_rows"])
    page = Path(done["outputs"]["evidently_report_path"])
    assert page.parent == Path(ctx.output_path) / "2026-01-02" / "run1" and (page.parent / "report.html").exists()
    assert "clv" in page.read_text() and done["drifted_columns"]["count"] >= 1  # CLV doubled; the rest did not move
    assert done["drifted_columns"]["count"] < len(COLUMNS)


def test_one_scoring_run_is_a_data_error(ctx: JobContext) -> None:
    write_runs(ctx, predictions("2026-01-01", 1.0))
    with pytest.raises(DataError, match="compares two scoring runs; .* has 1 as_of"):
        evidently_report.write(ctx, COLUMNS)


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "evidently", None)
    frame = predictions("2026-01-01", 1.0, 10)[COLUMNS]
    with pytest.raises(ConfigError, match=r"pip install 'gda_clv\[evidently\]'"):
        evidently_report.drift_report(frame, frame)
