"""Steps hand over as Databricks tasks do: each step its own process, linked only by the job run id, the as_of
parameter, task values, tables and the registry. A kill between deciding and promoting leaves @champion alone."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from gda_clv.utils import registry
from gda_clv.utils.logger_utils import KILL_AT_PHASE_ENV_VAR
from gda_clv.utils.task_values import TASK_VALUES_FILE_ENV_VAR

pytestmark = pytest.mark.slow  # five gda-clv processes

GDA_CLV = str(Path(sys.executable).with_name("gda-clv"))


def _task(tmp_path: Path, name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    values = tmp_path / f"{name}.values.json"
    common = [
        "--env", "local", "--set", f"runtime.state_dir={tmp_path / 'state'}",
        "--set", f"data.source.path={tmp_path / 'sample.csv'}", "--set", "data.source.format=csv",
        "--set", "data.observation_end=1998-06-30", "--set", "data.calibration_end=1997-09-30",
        "--set", "model.frequency.tuning.max_evals=0", "--set", "model.monetary.tuning.max_evals=0",
        "--set", "model.registry.gate.mode=enabled", "--set", "model.registry.gate.tolerance=0",
        "--summary-json", str(tmp_path / f"{name}.json"),
    ]
    return subprocess.run(
        [GDA_CLV, *args, *common], capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, TASK_VALUES_FILE_ENV_VAR: str(values), **env},
    )


def _values(tmp_path: Path, name: str) -> dict:
    return json.loads((tmp_path / f"{name}.values.json").read_text())


def test_tasks_in_separate_processes_hand_over_through_job_run_id_and_task_values(
    tmp_path: Path, cdnow_sample_transactions: pd.DataFrame
) -> None:
    cdnow_sample_transactions.to_csv(tmp_path / "sample.csv", index=False)
    prepared = _task(tmp_path, "prepare", "prepare", "--job-run-id", "J1")
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    as_of = _values(tmp_path, "prepare")["as_of"]
    assert _values(tmp_path, "prepare") == {"as_of": "1998-06-30", "calibration_end": "1997-09-30"}

    first = _task(tmp_path, "freq1", "train-frequency", "--job-run-id", "J1", "--as-of", as_of)
    assert first.returncode == 0, first.stderr[-2000:]
    assert _values(tmp_path, "freq1") == {"model_name": "clv_frequency", "model_version": "1"}

    # job run J2: its frequency task is killed after its decision was recorded, before @champion could move
    killed = _task(tmp_path, "freq2", "train-frequency", "--job-run-id", "J2", "--as-of", as_of,
                   **{KILL_AT_PHASE_ENV_VAR: "train-frequency: promote"})
    assert killed.returncode == -signal.SIGKILL
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'state' / 'mlflow.db'}")
    mlflow.set_registry_uri(mlflow.get_tracking_uri())
    client = MlflowClient()
    v2 = client.get_model_version("clv_frequency", "2")
    assert v2.tags["gda_clv_job_run_id"] == "J2" and v2.tags["gate_mode"] == "enabled"  # complete, recorded
    assert client.get_run(v2.run_id).info.status == "FINISHED"
    assert str(registry.version_by_alias("clv_frequency", registry.CHAMPION, client).version) == "1"

    # J2's monetary task (another process) checks revenue with J2's frequency model, not last run's champion
    monetary = _task(tmp_path, "mon2", "train-monetary", "--job-run-id", "J2", "--as-of", as_of)
    assert monetary.returncode == 0, monetary.stderr[-2000:]
    summary = json.loads((tmp_path / "mon2.json").read_text())
    assert summary["frequency_model"] == {"name": "clv_frequency", "version": "2", "source": "job run J2"}
    assert summary["data"]["as_of"] == as_of and summary["data"]["calibration_end"] == "1997-09-30"
