"""A run killed at a named phase leaves outputs that agree with each other, and the next run recovers by itself.
Reruns are idempotent: the quarantine table holds one set of rows per as_of."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gda_clv.utils.logger_utils import KILL_AT_PHASE_ENV_VAR

pytestmark = pytest.mark.slow  # five gda-clv processes

GDA_CLV = str(Path(sys.executable).with_name("gda-clv"))


def _gda_clv(tmp_path: Path, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({KILL_AT_PHASE_ENV_VAR: kill_at} if kill_at else {})}
    settings = [
        "--env", "local", "--set", f"runtime.state_dir={tmp_path / 'state'}",
        "--set", f"data.source.path={tmp_path / 'sample.csv'}", "--set", "data.source.format=csv",
        "--set", "data.observation_end=1998-06-30", "--set", "data.calibration_end=1997-09-30",
        "--set", "model.frequency.tuning.max_evals=0", "--set", "model.monetary.tuning.max_evals=0",
        "--summary-json", str(tmp_path / "summary.json"),
    ]
    return subprocess.run([GDA_CLV, *args, *settings], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=env)


def _spark_table(tmp_path: Path, name: str) -> pd.DataFrame:
    """A table of the run's local warehouse, read as Parquet files (no second metastore client)."""
    return pd.read_parquet(tmp_path / "state" / "spark-warehouse" / "clv_local.db" / name)


def test_kill_during_project_leaves_agreeing_outputs_and_reruns_recover(
    tmp_path: Path, cdnow_sample_transactions: pd.DataFrame
) -> None:
    bad = pd.DataFrame({"customer_id": ["x1", "x2"], "transaction_date": ["not a date", "1998-01-05"],
                        "amount": [5.0, -3.0]})
    pd.concat([cdnow_sample_transactions.astype(str), bad]).to_csv(tmp_path / "sample.csv", index=False)
    first = _gda_clv(tmp_path, "run")
    assert first.returncode == 0, first.stderr[-2000:]
    output = tmp_path / "state" / "output"
    published = (output / "LATEST").read_text().strip()
    quarantined = _spark_table(tmp_path, "clv_quarantine")
    assert {"unparseable_date", "non_positive_amount"} <= set(quarantined["reason"])

    again = _gda_clv(tmp_path, "prepare")  # an identical rerun
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(_spark_table(tmp_path, "clv_quarantine")) == len(quarantined)  # replaced, not doubled

    killed = _gda_clv(tmp_path, "project", "--as-of", "1998-06-30", kill_at="project: publish")
    assert killed.returncode == -signal.SIGKILL
    targets = _spark_table(tmp_path, "clv_predictions")
    runs = set(targets["prediction_run"])
    assert len(runs) == 1 and runs != {published}  # the table has the killed run's predictions ...
    lineage = json.loads((output / runs.pop() / "lineage.json").read_text())  # ... and their files and lineage
    assert lineage["models"]["frequency"]["version"] == targets["frequency_model_version"].iloc[0]
    assert lineage["row_counts"]["customers_scored"] == len(targets)
    assert (output / "LATEST").read_text().strip() == published  # readers still see a complete run

    rerun = _gda_clv(tmp_path, "project", "--as-of", "1998-06-30")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    latest = (output / "LATEST").read_text().strip()
    assert set(_spark_table(tmp_path, "clv_predictions")["prediction_run"]) == {latest}
    assert (output / latest / "_COMPLETE").is_file()
    incomplete = [p for p in output.glob("*/*") if p.is_dir() and not (p / "_COMPLETE").exists()]
    assert incomplete == []  # the killed run's unpublished folder is cleaned up
