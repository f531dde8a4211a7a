"""`gda-clv project` on local Spark + sqlite MLflow: champion models from the registry, CDNOW features,
parity with lifetimes, idempotent reruns, a failed write leaving the previous outputs, clear errors."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from gda_clv.errors import ConfigError, DataError, ModelError
from gda_clv.models._lifetimes import quiet
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.pipelines import project
from gda_clv.pipelines.lineage import Lineage
from gda_clv.pipelines.summaries import ProjectSummary, TopCustomer
from gda_clv.utils import registry
from gda_clv.utils.common import JobContext
from gda_clv.utils.pipelines import save_to_blob
from gda_clv.utils.pipelines.pyfunc import log_pyfunc_model

AS_OF = dt.date(1998, 6, 30)
OLD_AS_OF = dt.date(1998, 3, 31)
REPO = Path(__file__).resolve().parents[2]


def _context(spark, state: Path, schema: str, *extra: str) -> JobContext:
    overrides = (
        f"runtime.state_dir={state}", f"tables.schema={schema}", "data.freq=W", "data.freq_multiplier=1",
        "output.write_csv=true", "output.keep_last=2", "projection.month=lifetimes", *extra,
    )
    context = JobContext(env="local", spark=spark, overrides=overrides)
    context.setup_mlflow()  # what gda-clv does at the edge
    return context


@pytest.fixture()
def ctx(spark, tmp_path: Path) -> Iterator[JobContext]:
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    context = _context(spark, tmp_path, f"proj_{uuid.uuid4().hex[:8]}")
    yield context
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def _register(ctx: JobContext, model, kind: str, example: pd.DataFrame) -> str:
    with mlflow.start_run():
        uri = log_pyfunc_model(model, kind, example).model_uri
    name = ctx.registered_model_name(kind)
    version = registry.register_challenger(uri, name).version
    registry.validate_and_promote(name, version, 1.0, lambda v: 1.0, "disabled", 0.05, "holdout_rmse")
    return version


def _write_features(ctx: JobContext, cdnow: pd.DataFrame) -> None:
    frame = cdnow.reset_index()[["customer_id", "frequency", "recency", "T", "monetary_value"]]
    frame = frame.assign(customer_id=frame["customer_id"].astype(str))
    current = ctx.spark.createDataFrame(frame.assign(as_of=AS_OF))
    older = ctx.spark.createDataFrame(frame.head(100).assign(as_of=OLD_AS_OF, T=frame["T"].head(100) - 13))
    name = ctx.feature_table.full_name
    ctx.tables.replace_where(older, name, "as_of", OLD_AS_OF)
    ctx.tables.replace_where(current, name, "as_of", AS_OF)


@pytest.fixture()
def ready(ctx: JobContext, cdnow_summary, bgnbd_cdnow: FrequencyModel, gamma_gamma_cdnow: GammaGammaModel):
    _register(ctx, bgnbd_cdnow, "frequency", pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.0],
                                                           "T": [38.0, 38.0]}))
    _register(ctx, gamma_gamma_cdnow, "monetary", pd.DataFrame({"frequency": [1.0, 2.0],
                                                               "monetary_value": [20.0, 35.0]}))
    _write_features(ctx, cdnow_summary)
    return ctx


def _targets(ctx: JobContext) -> pd.DataFrame:
    return ctx.tables.read(ctx.targets_table.full_name).toPandas()


def test_project_scores_latest_as_of_like_lifetimes(ready: JobContext, cdnow_summary, bgnbd_cdnow,
                                                    gamma_gamma_cdnow) -> None:
    summary = project.run(ready, as_of=AS_OF)
    assert list(summary) == [  # what --summary-json writes, in this order
        "step", "as_of", "customers_scored", "distinct_input_tuples", "models", "targets_table", "feature_table",
        "predictions_path", "parquet_path", "csv_path", "lineage_path", "removed_runs", "horizon_months",
        "horizon_units", "discount_rate", "clv_total", "clv_mean", "tier_thresholds", "tier_counts", "top_customers",
        "commit_id",
    ]
    assert set(summary) == ProjectSummary.__required_keys__
    assert list(summary["top_customers"][0]) == list(TopCustomer.__annotations__) == [
        "customer_id", "clv", "p_alive", "frequency", "monetary_value", "expected_avg_spend", "value_tier"]
    assert list(summary["models"]["monetary"]) == ["name", "version", "run_id", "type", "params"]
    assert summary["customers_scored"] == 2357
    # the frequency model scores each distinct (frequency, recency, T) once
    distinct = len(cdnow_summary.drop_duplicates(["frequency", "recency", "T"]))
    assert summary["distinct_input_tuples"] == distinct == 1016
    assert summary["as_of"] == "1998-06-30"
    assert summary["horizon_units"]["clv"].startswith("expected spend over the next 12 months of lifetimes' month")
    assert {k: (m["name"], m["version"]) for k, m in summary["models"].items()} == {
        "frequency": ("clv_frequency", "1"), "monetary": ("clv_monetary", "1")}

    table = _targets(ready).set_index("customer_id")
    assert len(table) == 2357 and set(table["as_of"]) == {AS_OF}
    d = cdnow_summary.set_index(cdnow_summary.index.astype(str)).loc[table.index]
    with quiet():
        expected = gamma_gamma_cdnow.to_lifetimes().customer_lifetime_value(
            bgnbd_cdnow.to_lifetimes(), d["frequency"], d["recency"], d["T"], d["monetary_value"],
            time=12, discount_rate=0.01, freq="W",
        )
    rel = np.abs(table["clv"].to_numpy() - expected.to_numpy()) / np.abs(expected.to_numpy())
    assert rel.max() < 1e-6
    assert table["value_tier"].value_counts().to_dict() == summary["tier_counts"]
    assert summary["tier_counts"]["top"] == pytest.approx(0.05 * 2357, abs=3)
    assert [c["customer_id"] for c in summary["top_customers"]] == list(
        table.sort_values(["clv"], ascending=False).index[:10])

    folder = Path(summary["predictions_path"])
    assert folder.parent.parent == Path(ready.output_path)
    files = ready.spark.read.parquet(summary["parquet_path"])
    assert files.count() == 2357
    assert len(list(Path(summary["csv_path"]).glob("part-*.csv"))) == 1
    lineage = json.loads(Path(summary["lineage_path"]).read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert lineage["commit_id"] == head
    assert lineage["as_of"] == "1998-06-30"
    assert lineage["row_counts"] == {"customers_scored": 2357, "distinct_input_tuples": 1016}
    assert lineage["models"]["frequency"]["run_id"] == summary["models"]["frequency"]["run_id"]
    assert lineage["models"]["monetary"]["version"] == "1"
    assert lineage["source_table"] == {"name": ready.feature_table.full_name, "version": None}
    assert len(lineage["config_hash"]) == 64
    assert set(lineage["timestamps"]) == {"started_at", "scored_at"}
    assert set(lineage) == {*Lineage.__required_keys__, "written_at"} == {
        "as_of", "commit_id", "config_hash", "env", "job_run_id", "models", "package_version", "projection",
        "row_counts", "run_id", "source_table", "step", "targets_table", "timestamps", "written_at"}
    assert lineage["models"] == json.loads(json.dumps(summary["models"]))
    assert set(lineage["projection"]) == {"spec", "units", "tier_quantiles", "tier_labels", "tier_thresholds"}


def test_rerun_replaces_only_its_as_of_and_keeps_last_runs(ready: JobContext, gamma_gamma_cdnow) -> None:
    targets = ready.targets_table.full_name
    old_rows = _targets_for(ready, OLD_AS_OF)
    assert old_rows == 0
    first = project.run(ready, as_of=AS_OF)
    # Rows of another as-of (an earlier scoring) must survive a rerun for AS_OF.
    earlier = ready.tables.read(targets).limit(7).withColumn("as_of", F.lit(OLD_AS_OF))
    ready.tables.replace_where(earlier.toPandas().pipe(ready.spark.createDataFrame), targets, "as_of", OLD_AS_OF)
    # A new monetary champion (v2) changes the values; the model version lands in every row.
    _register(ready, gamma_gamma_cdnow, "monetary", pd.DataFrame({"frequency": [1.0], "monetary_value": [20.0]}))
    second = project.run(ready, as_of=AS_OF)
    third = project.run(ready, as_of=AS_OF)
    table = _targets(ready)
    assert len(table) == 2357 + 7
    assert _targets_for(ready, AS_OF) == 2357 and _targets_for(ready, OLD_AS_OF) == 7
    assert table.duplicated(["customer_id", "as_of"]).sum() == 0
    current = table[table["as_of"] == AS_OF]
    assert set(current["monetary_model_version"]) == {"2"}
    assert second["clv_total"] == pytest.approx(first["clv_total"], rel=1e-12)  # same params, new version
    runs = save_to_blob.list_runs(ready.output_path)
    assert [name for name, _ in runs] == [
        str(Path(second["predictions_path"]).relative_to(ready.output_path)),
        str(Path(third["predictions_path"]).relative_to(ready.output_path)),
    ]  # keep_last=2
    assert save_to_blob.latest_run_folder(ready.output_path) == third["predictions_path"]


def _targets_for(ctx: JobContext, as_of: dt.date) -> int:
    name = ctx.targets_table.full_name
    if not ctx.tables.exists(name):
        return 0
    return ctx.tables.read(name).where(F.col("as_of") == F.lit(as_of)).count()


def test_failed_write_leaves_previous_outputs_readable(ready: JobContext, monkeypatch) -> None:
    first = project.run(ready, as_of=AS_OF)
    before = _targets(ready).sort_values("customer_id").reset_index(drop=True)
    real = project.scoring.assign_value_tiers

    def dies_midway(*args, **kwargs):
        # The executors fail while writing: some partitions are written, the job is not committed.
        out = real(*args, **kwargs)
        return out.withColumn("clv", F.expr("CASE WHEN clv < 500 THEN clv ELSE raise_error('killed midway') END"))

    monkeypatch.setattr(project.scoring, "assign_value_tiers", dies_midway)
    with pytest.raises(Exception, match="killed midway"):
        project.run(ready, as_of=AS_OF)
    after = _targets(ready).sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(after, before)
    assert save_to_blob.latest_run_folder(ready.output_path) == first["predictions_path"]
    assert ready.spark.read.parquet(first["parquet_path"]).count() == 2357


def test_missing_champion_says_what_to_run(ctx: JobContext) -> None:
    with pytest.raises(ModelError) as err:
        project.run(ctx, as_of=AS_OF)
    assert str(err.value) == (
        f"Registered model 'clv_frequency' does not exist in the registry at {ctx.mlflow_registry_uri}. "
        "Run `gda-clv train-frequency --env local` first."
    )


def test_missing_features_say_what_to_run(ctx: JobContext, bgnbd_cdnow, gamma_gamma_cdnow) -> None:
    _register(ctx, bgnbd_cdnow, "frequency", pd.DataFrame({"frequency": [1.0], "recency": [2.0], "T": [3.0]}))
    _register(ctx, gamma_gamma_cdnow, "monetary", pd.DataFrame({"frequency": [1.0], "monetary_value": [2.0]}))
    with pytest.raises(DataError) as err:
        project.run(ctx, as_of=AS_OF)
    assert str(err.value) == (
        f"Feature table '{ctx.feature_table.full_name}' does not exist; "
        "run `gda-clv prepare --env local` first."
    )


def test_pinned_model_version_is_used(ready: JobContext, spark, bgnbd_cdnow, tmp_path: Path) -> None:
    _register(ready, bgnbd_cdnow, "frequency", pd.DataFrame({"frequency": [1.0], "recency": [2.0], "T": [3.0]}))
    pinned = _context(spark, tmp_path, ready.config.tables.schema_, "projection.model_versions.frequency=1")
    summary = project.run(pinned, as_of=AS_OF)
    assert summary["models"]["frequency"]["version"] == "1"
    assert summary["models"]["monetary"]["version"] == "1"
    assert set(_targets(pinned)["frequency_model_version"]) == {"1"}


def test_changed_columns_are_refused_before_writing(ready: JobContext, spark, tmp_path: Path) -> None:
    project.run(ready, as_of=AS_OF)
    schema = ready.config.tables.schema_
    changed = _context(spark, tmp_path, schema, "projection.horizons_days=[30, 60]")
    with pytest.raises(DataError) as err:
        project.run(changed, as_of=AS_OF)
    name = changed.targets_table.full_name
    assert str(err.value) == (
        f"The targets table '{name}' has other columns than this projection writes (only in the table: "
        "['expected_purchases_365d', 'expected_purchases_90d']; only in the projection: ['expected_purchases_60d']), "
        f"e.g. after projection.horizons_days changed. Set tables.targets to a new table name or drop '{name}'."
    )
    assert _targets_for(changed, AS_OF) == 2357


def test_scores_the_as_of_it_is_handed_never_the_newest_silently(ready: JobContext) -> None:
    older = project.run(ready, as_of=OLD_AS_OF.isoformat())  # a backfill: the older as_of, as a task parameter
    assert (older["as_of"], older["customers_scored"]) == (OLD_AS_OF.isoformat(), 100)
    assert _targets_for(ready, OLD_AS_OF) == 100 and _targets_for(ready, AS_OF) == 0
    assert project.run(ready, as_of="latest")["as_of"] == AS_OF.isoformat()  # only when asked
    # without --as-of: what the config says (here the CDNOW dataset's observation end), never the newest
    assert project.run(ready)["as_of"] == AS_OF.isoformat()
    unset = _context(ready.spark, Path(ready.state_dir), ready.config.tables.schema_, "data.source.format=csv",
                     "data.source.path=/none.csv")
    with pytest.raises(ConfigError, match="Pass --as-of DATE"):
        project.run(unset)  # no --as-of and no data.observation_end: no guessing
    with pytest.raises(DataError) as err:
        project.run(ready, as_of="1998-01-31")
    assert "has no rows for as_of 1998-01-31 (it has: 1998-03-31, 1998-06-30)" in str(err.value)
    assert "data.observation_end=1998-01-31" in str(err.value)
