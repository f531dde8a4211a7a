"""Scale-out (issue 13): ``gda-clv run`` on ``local-cluster[2,1,1024]`` (two executor JVMs with their own Python
workers, in its own process as Databricks runs a job) writes the same features and predictions as prepare and project
on the test session's local Spark with the models that run registered."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from gda_clv.pipelines.steps import COMMANDS
from gda_clv.utils.common import JobContext

pytestmark = pytest.mark.slow  # a pipeline run that starts three JVMs, then prepare and project

MASTER = "local-cluster[2,1,1024]"
#: Sums of amounts meet their parts in the order the shuffle delivers them, which differs between executor processes
#: and threads in the last bit; every other column is compared exactly.
SUM_RTOL = 1e-12


@pytest.fixture()
def restore_mlflow() -> Iterator[None]:
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    yield
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def _overrides(state: Path, source: Path, schema: str) -> list[str]:
    return [f"runtime.state_dir={state}", f"tables.schema={schema}", f"data.source.path={source}", "data.freq=W",
            "data.freq_multiplier=1", "model.frequency.tuning.max_evals=0", "model.monetary.tuning.max_evals=0"]


def _cluster_run(cwd: Path, overrides: list[str]) -> dict[str, Any]:
    """``gda-clv run`` with runtime.spark_master=local-cluster in its own process; its summary."""
    summary = cwd / "cluster_summary.json"
    cmd = [str(Path(sys.executable).with_name("gda-clv")), "run", "--env", "local", "--summary-json", str(summary)]
    for setting in [*overrides, f"runtime.spark_master={MASTER}"]:
        cmd += ["--set", setting]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"starting local Spark ({MASTER}" in done.stdout + done.stderr
    result: dict[str, Any] = json.loads(summary.read_text())
    return result


def assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame, ignore: tuple[str, ...] = ()) -> None:
    """Same customers and columns; float columns within SUM_RTOL (relative), every other column exactly equal."""
    assert sorted(actual.columns) == sorted(expected.columns)
    actual, expected = (f.sort_values("customer_id").reset_index(drop=True) for f in (actual, expected))
    for column in expected.columns:
        if column in ignore:
            continue
        if expected[column].dtype.kind == "f":
            np.testing.assert_allclose(actual[column], expected[column], rtol=SUM_RTOL, atol=0, err_msg=column)
        else:
            assert actual[column].astype(str).tolist() == expected[column].astype(str).tolist(), column


def test_local_cluster_run_matches_local(spark: SparkSession, tmp_path: Path, cdnow_subset: Path,
                                         restore_mlflow: None) -> None:
    schema = f"scale_{uuid.uuid4().hex[:8]}"
    cluster_state = tmp_path / "cluster"
    cluster = _cluster_run(tmp_path, _overrides(cluster_state, cdnow_subset, schema))

    # two executor processes did the work, in folders under the state folder (not in site-packages), and the
    # session was stopped before the JVM exited (no failed relaunches leaving more folders)
    executors = sorted((cluster_state / "spark_home" / "work").glob("app-*/*"))
    assert [p.name for p in executors] == ["0", "1"]
    assert all("Successfully registered with driver" in (p / "stderr").read_text() for p in executors)

    # prepare and project in this process, on the session's local Spark, with the models the cluster run registered
    store = f"sqlite:///{cluster_state / 'mlflow.db'}"
    (tmp_path / "local").mkdir()
    ctx = JobContext(env="local", spark=spark, overrides=[*_overrides(tmp_path / "local", cdnow_subset, schema),
                                                          f"mlflow.tracking_uri={store}",
                                                          f"mlflow.registry_uri={store}"])
    ctx.setup_mlflow()
    prepared = COMMANDS["prepare"].run(ctx)
    projected = COMMANDS["project"].run(ctx, as_of=prepared["as_of"])
    assert projected["models"] == cluster["project"]["models"]  # the same registered versions and parameters

    warehouse = Path(cluster["outputs"]["warehouse"]) / f"{schema}.db"
    for table in (ctx.feature_table, ctx.targets_table):
        local = ctx.tables.read(table.full_name).toPandas()
        assert len(local) == prepared["customers"] > 900
        assert_same_rows(spark.read.parquet(str(warehouse / table.table)).toPandas(), local, ignore=("prediction_run",))
    assert_same_rows(pd.read_parquet(cluster["project"]["parquet_path"]), pd.read_parquet(projected["parquet_path"]),
                     ignore=("prediction_run",))
