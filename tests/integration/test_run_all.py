"""`gda-clv run` end to end on a CDNOW subset (the first 1000 customers of the file lifetimes ships):
prepare -> train-frequency -> train-monetary -> project, twice, on local Spark + sqlite MLflow."""
from __future__ import annotations

import datetime as dt
import io
import json
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest

from gda_clv.models._lifetimes import quiet
from gda_clv.pipelines import run_all
from gda_clv.utils import registry
from gda_clv.utils.common import JobContext
from gda_clv.utils.pipelines import save_to_blob
from gda_clv.utils.pipelines.pyfunc import unwrap_model

pytestmark = pytest.mark.slow  # two whole pipeline runs


@pytest.fixture()
def ctx(spark, tmp_path: Path, cdnow_subset: Path) -> Iterator[JobContext]:
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    overrides = (
        f"runtime.state_dir={tmp_path}", f"tables.schema=run_{uuid.uuid4().hex[:8]}",
        f"data.source.path={cdnow_subset}", "data.freq=W", "data.freq_multiplier=1", "projection.month=lifetimes",
        "model.frequency.tuning.max_evals=2", "model.monetary.tuning.max_evals=2", "output.write_csv=true",
        "data.observation_end=null",  # the later steps learn the as_of from prepare, not from the config
    )
    context = JobContext(env="local", spark=spark, overrides=overrides)
    context.setup_mlflow()  # what gda-clv does at the edge
    yield context
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_run_twice_end_to_end(ctx: JobContext) -> None:
    out = io.StringIO()
    first = run_all.run(ctx, out=out)
    printed = out.getvalue()
    assert first["status"] == "succeeded"
    steps = ("prepare", "train-frequency", "train-monetary", "project", "monitor")
    for number, step in enumerate(steps, start=1):
        assert f"==> [{number}/5] {step} ..." in printed and f"==> [{number}/5] {step} succeeded in " in printed
    assert set(first) >= {"prepare", "train_frequency", "train_monetary", "project", "outputs", "timings"}
    assert set(first["timings"]["steps"]) == set(steps)
    assert first["monitor"]["monitoring"]["reference_as_of"] is None
    customers = first["prepare"]["customers"]
    assert first["project"]["customers_scored"] == customers
    assert customers == ctx.tables.read(ctx.feature_table.full_name).count() > 990
    outputs = first["outputs"]
    assert outputs["tables"]["targets"] == ctx.targets_table.full_name
    assert outputs["predictions_path"] == first["project"]["predictions_path"]
    assert Path(outputs["predictions_path"], "predictions.parquet").is_dir()
    assert "Top 10 customers by CLV:" in printed
    ui_line = next(line for line in printed.splitlines() if line.startswith("Open the MLflow UI: "))
    ui_command = shlex.split(ui_line.removeprefix("Open the MLflow UI: "))
    assert ui_command[-1] == f"sqlite:///{ctx.state_dir / 'mlflow.db'}"
    # the printed command runs as printed, with no virtual environment active (PATH without .venv/bin)
    ran = subprocess.run([*ui_command, "--help"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert ran.returncode == 0 and "--backend-store-uri" in ran.stdout
    plots = first["outputs"]["plots"]["train_frequency"]
    assert f"  plots:       {plots}" in printed
    assert Path(plots.removeprefix("file://"), "calibration_vs_holdout.png").is_file()
    json.dumps(first, default=str)  # the CLI writes it as --summary-json

    # Parity of the written CLV with lifetimes, using the champion models from the registry.
    table = ctx.tables.read(ctx.targets_table.full_name).toPandas()
    fm = unwrap_model(registry.load_registered_model(ctx.registered_model_name("frequency"))[0])
    gg = unwrap_model(registry.load_registered_model(ctx.registered_model_name("monetary"))[0])
    with quiet():
        expected = gg.to_lifetimes().customer_lifetime_value(
            fm.to_lifetimes(), table["frequency"], table["recency"], table["T"], table["monetary_value"],
            time=12, discount_rate=0.01, freq="W",
        )
    assert np.max(np.abs(table["clv"] - expected) / np.abs(expected)) < 1e-6

    # An earlier run on another source left a newer as_of in the same feature table (issue 16): the second run
    # trains and scores the as_of its own prepare wrote (handed over as an argument; data.observation_end is
    # null here), labelled with its own calibration end.
    newer = ctx.tables.read(ctx.feature_table.full_name).toPandas().assign(
        as_of=dt.date(2025, 6, 30), calibration_end=dt.date(2024, 9, 30))
    ctx.tables.replace_where(ctx.spark.createDataFrame(newer), ctx.feature_table.full_name, "as_of", newer["as_of"][0])
    second = run_all.run(ctx, out=io.StringIO())
    as_of = str(first["prepare"]["as_of"])
    assert str(second["prepare"]["as_of"]) == as_of and str(second["project"]["as_of"]) == as_of
    for step in ("train_frequency", "train_monetary"):
        assert (second[step]["data"]["as_of"], second[step]["data"]["calibration_end"]) == (as_of, "1997-09-30")
    table = ctx.tables.read(ctx.targets_table.full_name).toPandas()
    assert len(table) == customers and not table.duplicated(["customer_id", "as_of"]).any()
    assert set(table["as_of"].astype(str)) == {as_of}
    features = ctx.tables.read(ctx.feature_table.full_name).toPandas()
    assert len(features) == 2 * customers
    for kind in ("train_frequency", "train_monetary"):
        gate = second[kind]["gate"]
        assert second[kind]["version"] == "2"
        assert (gate["challenger_version"], gate["champion_version"]) == ("2", "1")
        assert gate["passed"] is not None  # the gate compared v2 with v1
    runs = save_to_blob.list_runs(ctx.output_path)
    assert len(runs) == 2 and all(done for _, done in runs)
