"""`gda-clv train-frequency` on local Spark + sqlite MLflow with CDNOW-sample features (weekly, 39+39 weeks)."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from gda_clv import __version__
from gda_clv.data import rfm
from gda_clv.errors import DataError
from gda_clv.models._lifetimes import lifetimes, quiet
from gda_clv.pipelines import _training, train_frequency
from gda_clv.pipelines.summaries import TrainFrequencySummary
from gda_clv.utils import registry
from gda_clv.utils.common import JobContext
from tests.integration.mlflow_layout import MODEL_IN_RUN_ARTIFACTS

CAL_END, OBS_END = dt.date(1997, 9, 30), dt.date(1998, 6, 30)


def make_context(spark, state: Path, tag: str, *extra: str) -> JobContext:
    """A local context on the session's Spark and sqlite store, with its own schema, experiment and model names."""
    uri = mlflow.get_tracking_uri()
    overrides = (
        f"runtime.state_dir={state}", f"tables.schema=train_{tag}", "data.freq=W", "data.freq_multiplier=1",
        f"data.calibration_end={CAL_END}", f"data.observation_end={OBS_END}",
        f"mlflow.tracking_uri={uri}", f"mlflow.registry_uri={uri}",
        f"mlflow.experiment=train-{tag}", f"model.registry.frequency_name=freq_{tag}",
        f"model.registry.monetary_name=mon_{tag}", "model.frequency.tuning.max_evals=3",
        "model.monetary.tuning.max_evals=3", *extra,
    )
    context = JobContext(env="local", spark=spark, overrides=overrides)
    context.setup_mlflow()  # what gda-clv does at the edge before a step that logs to MLflow
    return context


def write_features(ctx: JobContext, transactions: pd.DataFrame) -> None:
    tx = ctx.spark.createDataFrame(transactions)
    features = rfm.rfm_features(tx, CAL_END, OBS_END, "W", 1)
    ctx.tables.replace_where(features, ctx.feature_table.full_name, "as_of", OBS_END)


@pytest.fixture(scope="module")
def ctx(spark, mlflow_store: Path, tmp_path_factory, cdnow_sample_transactions: pd.DataFrame) -> Iterator[JobContext]:
    context = make_context(spark, tmp_path_factory.mktemp("train_state"), uuid.uuid4().hex[:8])
    write_features(context, cdnow_sample_transactions)
    yield context


@pytest.fixture(scope="module")
def first(ctx: JobContext) -> dict:
    return train_frequency.run(ctx)


def test_fit_equals_lifetimes_on_the_same_calibration_features(ctx: JobContext, first: dict) -> None:
    cal = rfm.calibration_rows(ctx.tables.read(ctx.feature_table.full_name)).toPandas()
    bgf = lifetimes.BetaGeoFitter(penalizer_coef=first["penalizer"])
    with quiet():
        bgf.fit(cal["frequency_cal"], cal["recency_cal"], cal["T_cal"])
    ours = first["calibration_fit"]["params"]
    for name in ("r", "alpha", "a", "b"):
        assert ours[name] == pytest.approx(bgf.params_[name], rel=1e-4)
    # Holdout totals are the real counts of the table; predictions are lifetimes' for the same parameters.
    assert first["holdout"]["holdout_actual_purchases"] == cal["frequency_holdout"].sum()
    with quiet():
        predicted = bgf.conditional_expected_number_of_purchases_up_to_time(
            cal["duration_holdout"], cal["frequency_cal"], cal["recency_cal"], cal["T_cal"]
        ).sum()
    assert first["holdout"]["holdout_predicted_purchases"] == pytest.approx(predicted, rel=1e-3)


def test_summary_and_mlflow_run(ctx: JobContext, first: dict) -> None:
    assert first["type"] == "bgnbd" and first["converged"] is True
    assert set(first["params"]) == {"r", "alpha", "a", "b"}
    assert first["data"]["n_customers"] == 2357 and first["data"]["as_of"] == "1998-06-30"
    assert first["data"]["n_distinct_tuples"] < first["data"]["n_customers"]
    assert first["tuning"] == {"tuned": True, "loss": pytest.approx(first["tuning"]["loss"]), "trials": 3}
    assert (first["version"], first["aliases"]) == ("1", ["challenger", "champion"])
    assert first["gate"]["reason"] == "no champion yet: the first model becomes champion"
    run = MlflowClient().get_run(first["mlflow_run_id"])
    assert run.data.tags["env"] == "local" and run.data.tags["gda_clv_version"] == __version__
    assert run.data.tags["git_commit"]
    assert run.data.params["model_type"] == "bgnbd" and run.data.params["as_of"] == "1998-06-30"
    metrics = run.data.metrics
    for key in ("r", "alpha", "a", "b", "se_r", "log_likelihood", "cal_r", "full_r", "n_repeat_customers",
                "holdout_actual_purchases", "holdout_predicted_purchases", "holdout_rmse",
                "gate_challenger_holdout_rmse"):
        assert key in metrics, key
    assert metrics["r"] == pytest.approx(first["params"]["r"])
    artifacts = {a.path for a in MlflowClient().list_artifacts(first["mlflow_run_id"], "plots")}
    assert artifacts == {
        "plots/calibration_vs_holdout.png", "plots/holdout_by_frequency_bucket.png",
        "plots/frequency_recency_matrix.png", "plots/probability_alive_matrix.png",
    }
    trials = mlflow.load_table("tuning/trials.json", run_ids=[first["mlflow_run_id"]])
    assert len(trials) == 3 and set(trials["status"]) == {"ok"}


def test_declared_outputs(ctx: JobContext, first: dict) -> None:
    """What --summary-json writes (keys in this order, as typed), the phases it times and what the MLflow run holds."""
    assert set(first) == TrainFrequencySummary.__required_keys__
    phases = [name.split(": ", 1)[1] for name in ctx.timings if name.startswith(f"{train_frequency.STEP}: ")]
    assert phases == ["read and compress features", "tune (3 evals)", f"fit bgnbd (penalizer {first['penalizer']:.3g})",
                      "plots", "log, register and gate", "promote"]
    assert list(first) == [
        "type", "params", "standard_errors", "log_likelihood", "penalizer", "penalizer_used", "converged",
        "refit_full", "holdout", "gate_holdout", "calibration_fit", "tuning", "data", "mlflow_run_id", "experiment",
        "model_uri", "registered_name", "version", "aliases", "gate",
    ]
    assert list(first["data"]) == ["as_of", "calibration_end", "n_customers", "n_repeat_customers",
                                   "n_distinct_tuples", "n_customers_full", "n_distinct_tuples_full"]
    run = MlflowClient().get_run(first["mlflow_run_id"])
    assert set(run.data.params) == {"as_of", "calibration_end", "freq", "freq_multiplier", "model_type", "penalizer",
                                    "refit_full", "tuning_loss", "tuning_max_evals", "tuning_penalizer_range",
                                    "tuning_types"}
    fit = {"a", "alpha", "b", "r", "se_a", "se_alpha", "se_b", "se_r", "log_likelihood", "penalizer_used"}
    holdout = {"holdout_actual_purchases", "holdout_predicted_purchases", "holdout_purchases_error_pct", "holdout_rmse"}
    data = {"n_customers", "n_customers_full", "n_distinct_tuples", "n_distinct_tuples_full", "n_repeat_customers"}
    assert set(run.data.metrics) == {*fit, *(f"cal_{k}" for k in fit), *(f"full_{k}" for k in fit), *holdout,
                                     *(f"cal_{k}" for k in holdout), *data, "gate_challenger_holdout_rmse"}
    assert {k for k in run.data.tags if not k.startswith("mlflow.")} == {
        "env", "gate_mode", "gate_passed", "gate_promoted", "gate_reason", "gda_clv_job_run_id", "gda_clv_run_id",
        "gda_clv_version", "git_commit", "region", "step"}
    assert {a.path for a in MlflowClient().list_artifacts(first["mlflow_run_id"])} == {
        "fits.json", "gate_decision.json", "plots", "tuning", *MODEL_IN_RUN_ARTIFACTS}
    assert set(mlflow.artifacts.load_dict(f"runs:/{first['mlflow_run_id']}/fits.json")) == {"scoring", "calibration"}


def test_rerun_is_gated_against_the_champion_and_loads_from_registry(ctx: JobContext, first: dict) -> None:
    second = train_frequency.run(ctx)
    assert second["params"] == pytest.approx(first["params"], rel=1e-9)  # seeded tuning: same choice
    gate = second["gate"]
    assert (gate["champion_version"], gate["passed"], gate["promoted"]) == ("1", True, True)
    assert gate["champion_metric"] == pytest.approx(gate["challenger_metric"], rel=1e-9)
    model, version = registry.load_registered_model(ctx.registered_model_name("frequency"))
    assert str(version.version) == "2"
    scored = model.predict(pd.DataFrame({"frequency": [2.0], "recency": [30.0], "T": [38.0]}))
    assert np.isfinite(scored["expected_purchases"][0]) and 0 < scored["probability_alive"][0] <= 1


def test_missing_feature_table_says_to_run_prepare(spark, mlflow_store: Path, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    context = make_context(spark, tmp_path, tag)
    with pytest.raises(DataError) as err:
        train_frequency.run(context)
    assert str(err.value) == (
        f"Feature table 'train_{tag}.clv_features' does not exist; "
        "run `gda-clv prepare --env local` first."
    )


class _AliasAuditClient(MlflowClient):
    """A real MlflowClient that records, at every alias move, the version's recorded decision and its run's status."""

    moves: list[tuple[str, str, str | None, str]] = []

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        found = self.get_model_version(name, version)
        _AliasAuditClient.moves.append(
            (alias, str(version), found.tags.get("gate_promoted"), self.get_run(found.run_id).info.status)
        )
        super().set_registered_model_alias(name, alias, version)


def test_aliases_move_only_after_the_run_finished_with_its_decision(ctx: JobContext, first: dict,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MlflowClient", _AliasAuditClient)
    _AliasAuditClient.moves.clear()
    version = train_frequency.run(ctx, as_of=OBS_END)["version"]
    assert _AliasAuditClient.moves == [("challenger", version, "True", "FINISHED"),
                                       ("champion", version, "True", "FINISHED")]


def test_trains_on_the_requested_as_of_not_the_newest(spark, mlflow_store: Path, tmp_path: Path,
                                                      cdnow_sample_transactions: pd.DataFrame) -> None:
    context = make_context(spark, tmp_path, uuid.uuid4().hex[:8], "model.frequency.tuning.max_evals=0")
    write_features(context, cdnow_sample_transactions)  # as_of 1998-06-30, calibration end 1997-09-30
    newer_as_of, newer_cal_end = dt.date(1998, 12, 31), dt.date(1998, 6, 30)
    subset = cdnow_sample_transactions[cdnow_sample_transactions["customer_id"].astype(int) <= 1000]
    newer = rfm.rfm_features(context.spark.createDataFrame(subset), newer_cal_end, newer_as_of, "W", 1)
    context.tables.replace_where(newer, context.feature_table.full_name, "as_of", newer_as_of)
    summary = train_frequency.run(context, as_of="1998-06-30")
    latest = _training.features_at(context, "latest")
    with pytest.raises(DataError) as err:
        train_frequency.run(context, as_of="1998-05-31")
    assert (summary["data"]["as_of"], summary["data"]["calibration_end"]) == ("1998-06-30", "1997-09-30")
    assert summary["data"]["n_customers"] == 2357
    assert (latest.as_of, latest.calibration_end) == (newer_as_of, newer_cal_end)
    assert latest.features.count() == subset["customer_id"].nunique() < 2357
    assert str(err.value).startswith(
        f"Feature table '{context.feature_table.full_name}' has no rows for as_of 1998-05-31 (it has: 1998-06-30, "
        "1998-12-31); run `gda-clv prepare --env local` with data.observation_end=1998-05-31"
    )
