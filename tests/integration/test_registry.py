"""Registry: challenger alias, validation gate vs champion in each mode, load by alias / version, clear errors."""
from __future__ import annotations

import uuid

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from gda_clv.errors import ModelError
from gda_clv.models.frequency import FrequencyModel
from gda_clv.utils import registry
from gda_clv.utils.pipelines.pyfunc import log_pyfunc_model, unwrap_model

EXAMPLE = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.0], "T": [38.0, 38.0]})


@pytest.fixture()
def model_uri(mlflow_experiment: str, bgnbd_cdnow: FrequencyModel) -> str:
    with mlflow.start_run():
        return log_pyfunc_model(bgnbd_cdnow, "frequency", EXAMPLE).model_uri


def _name() -> str:
    return f"clv_frequency_{uuid.uuid4().hex[:6]}"


def _fail_if_called(version: object) -> float:
    raise AssertionError("the champion must not be evaluated here")


def test_first_model_becomes_champion_then_gate_rejects_a_worse_one(model_uri: str) -> None:
    name = _name()
    client = MlflowClient()
    v1 = registry.register_challenger(model_uri, name, tags={"holdout_rmse": "1.0"})
    assert (str(v1.version), v1.aliases) == ("1", [])  # no alias before the gate decision
    first = registry.validate_and_promote(name, "1", 1.0, _fail_if_called, "enabled", 0.05, "holdout_rmse")
    assert (first.promoted, first.passed, first.champion_version) == (True, None, None)
    assert first.reason == "no champion yet: the first model becomes champion"
    assert registry.aliases_of(name, "1") == ["challenger", "champion"]

    v2 = registry.register_challenger(model_uri, name)
    assert registry.aliases_of(name, v2.version) == []
    evaluated: list[str] = []

    def champion_metric(version: object) -> float:
        evaluated.append(str(version.version))
        return 1.0

    second = registry.validate_and_promote(name, "2", 1.06, champion_metric, "enabled", 0.05, "holdout_rmse")
    assert evaluated == ["1"]
    assert (second.passed, second.promoted, second.champion_metric) == (False, False, 1.0)
    assert second.reason == (
        "challenger holdout_rmse=1.06 is worse than champion v1 holdout_rmse=1 (+5% tolerance)"
    )
    assert str(registry.version_by_alias(name, "champion").version) == "1"
    assert client.get_model_version(name, "2").tags["gate_promoted"] == "False"

    third = registry.validate_and_promote(name, "2", 1.04, champion_metric, "enabled", 0.05, "holdout_rmse")
    assert (third.passed, third.promoted) == (True, True)
    assert registry.aliases_of(name, "2") == ["challenger", "champion"]
    assert registry.aliases_of(name, "1") == []


def test_dry_run_promotes_a_failing_challenger_and_disabled_skips_the_comparison(model_uri: str) -> None:
    name = _name()
    for _ in range(3):
        registry.register_challenger(model_uri, name)
    registry.validate_and_promote(name, "1", 1.0, _fail_if_called, "enabled", 0.0, "rmse")
    dry = registry.validate_and_promote(name, "2", 2.0, lambda v: 1.0, "dry_run", 0.0, "rmse")
    assert (dry.passed, dry.promoted) == (False, True)
    assert dry.reason.endswith("; dry run: promoted regardless")
    off = registry.validate_and_promote(name, "3", 9.0, _fail_if_called, "disabled", 0.0, "rmse")
    assert (off.passed, off.promoted, off.champion_version, off.champion_metric) == (None, True, "2", None)
    assert str(registry.version_by_alias(name, "champion").version) == "3"


def test_gate_decision_is_logged_to_the_run(model_uri: str) -> None:
    name = _name()
    registry.register_challenger(model_uri, name)
    registry.register_challenger(model_uri, name)
    registry.validate_and_promote(name, "1", 1.0, _fail_if_called, "enabled", 0.05, "rmse")
    decision = registry.validate_and_promote(name, "2", 0.5, lambda v: 1.0, "enabled", 0.05, "rmse")
    with mlflow.start_run() as run:
        registry.log_gate_decision(decision)
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.metrics == {"gate_challenger_rmse": 0.5, "gate_champion_rmse": 1.0}
    assert (data.tags["gate_mode"], data.tags["gate_passed"], data.tags["gate_promoted"]) == ("enabled", "True", "True")


def test_load_by_alias_or_pinned_version(model_uri: str, bgnbd_cdnow: FrequencyModel) -> None:
    name = _name()
    registry.register_challenger(model_uri, name)
    registry.validate_and_promote(name, "1", 1.0, _fail_if_called, "enabled", 0.05, "rmse")
    loaded, version = registry.load_registered_model(name)
    assert str(version.version) == "1"
    assert unwrap_model(loaded).params_ == bgnbd_cdnow.params_
    pinned, version = registry.load_registered_model(name, version=1)
    assert str(version.version) == "1" and "champion" in version.aliases


def test_missing_model_alias_or_version_says_what_to_run(model_uri: str) -> None:
    uri = mlflow.get_registry_uri()
    hint = "`gda-clv train-frequency --env local`"
    with pytest.raises(ModelError) as err:
        registry.resolve_version("no_such_model", run_first=hint)
    assert str(err.value) == (
        f"Registered model 'no_such_model' does not exist in the registry at {uri}. "
        "Run `gda-clv train-frequency --env local` first."
    )
    name = _name()
    registry.register_challenger(model_uri, name)
    with pytest.raises(ModelError) as err:
        registry.resolve_version(name, run_first=hint)
    assert str(err.value) == (
        f"Registered model '{name}' has no alias '@champion' in the registry at {uri}. "
        "Run `gda-clv train-frequency --env local` first (or pin a version)."
    )
    with pytest.raises(ModelError) as err:
        registry.resolve_version(name, version=7)
    assert str(err.value) == (
        f"Registered model '{name}' has no version 7 in the registry at {uri}; "
        "pin an existing version or set it to null to use @champion."
    )


def test_compare_handles_non_finite_metrics() -> None:
    assert registry.compare(1.05, 1.0, 0.05) and not registry.compare(1.0501, 1.0, 0.05)
    assert not registry.compare(float("nan"), 1.0, 0.5)
    assert registry.compare(3.0, float("inf"), 0.0)


@pytest.mark.parametrize("key", ["gate.mode", "gate-mode", "a=b", "a/b", "a:b", "a,b", ""])
def test_tag_keys_unity_catalog_refuses_are_refused_locally(model_uri: str, key: str) -> None:
    name = _name()
    with pytest.raises(ModelError, match="not allowed in Unity Catalog"):
        registry.register_challenger(model_uri, name, tags={key: "x"})
    version = registry.register_challenger(model_uri, name).version
    with pytest.raises(ModelError, match=f"tag key {key!r} on model version {name} v{version}"):
        registry.set_version_tags(name, version, {key: "x"})


def test_the_decision_is_recorded_before_champion_moves(model_uri: str) -> None:
    name = _name()
    client = MlflowClient()
    version = str(registry.register_challenger(model_uri, name).version)
    decision = registry.decide(name, version, 1.0, _fail_if_called, "enabled", 0.05, "holdout_rmse")
    registry.record_decision(name, decision)
    assert registry.version_by_alias(name, registry.CHAMPION) is None  # recorded, not yet applied
    tags = client.get_model_version(name, version).tags
    assert (tags["gate_mode"], tags["gate_promoted"], tags["gate_challenger_holdout_rmse"]) == ("enabled", "True", "1")
    registry.promote(name, decision)
    assert str(registry.version_by_alias(name, registry.CHAMPION).version) == version


def test_run_tags_are_checked_like_version_tags(mlflow_experiment: str) -> None:
    with mlflow.start_run() as run, pytest.raises(ModelError, match="tag key 'gate.mode' on the MLflow run"):
        registry.set_run_tags({"gate.mode": "enabled"})
    assert "gate.mode" not in MlflowClient().get_run(run.info.run_id).data.tags


def test_no_alias_moves_while_the_training_run_is_running(mlflow_experiment: str, bgnbd_cdnow: FrequencyModel) -> None:
    name, client = _name(), MlflowClient()
    with mlflow.start_run() as run:
        version = str(registry.register_challenger(log_pyfunc_model(bgnbd_cdnow, "frequency", EXAMPLE).model_uri,
                                                   name).version)
        decision = registry.decide(name, version, 1.0, _fail_if_called, "enabled", 0.05, "rmse")
        with pytest.raises(ModelError) as err:
            registry.promote(name, decision)  # decision not recorded yet
        assert str(err.value) == f"'{name}' v1 has no recorded gate decision; record it before promoting."
        registry.record_decision(name, decision)
        with pytest.raises(ModelError) as err:
            registry.promote(name, decision)
        assert str(err.value) == (
            f"'{name}' v1 comes from MLflow run {run.info.run_id} with status RUNNING; "
            "aliases move only after the training run has ended FINISHED."
        )
        assert client.get_model_version(name, version).aliases == []
    registry.promote(name, decision)
    assert registry.aliases_of(name, version) == ["challenger", "champion"]
