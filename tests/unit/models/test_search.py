"""Tuning backends (hyperopt, optuna): same space, same trials table, seeded; nothing imported with max_evals 0."""
from __future__ import annotations

import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from gda_clv.errors import ConfigError
from gda_clv.models.compress import compress
from gda_clv.models.tuning import TRIAL_COLUMNS, tune_frequency, tune_monetary
from gda_clv.pipelines._training import make_trials
from gda_clv.utils.config_utils import load_config
from tests.unit.models.synthetic import KEYS, cal_holdout_features


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return cal_holdout_features(600, seed=5)


@pytest.mark.parametrize("backend", ["hyperopt", "optuna"])
def test_backends_search_the_same_space_seeded(features: pd.DataFrame, backend: str) -> None:
    """A tiny real search per backend (on Python 3.12 with future 0.18.3, importing hyperopt fails here)."""
    groups = compress(features, KEYS)
    runs = [tune_frequency(groups, ["bgnbd", "mbgnbd"], (1e-4, 0.1), 4, seed=3, backend=backend) for _ in range(2)]
    first, again = runs
    table = first.trials
    assert list(table.columns) == TRIAL_COLUMNS and len(table) == 4 and first.tuned
    assert table["trial"].tolist() == [0, 1, 2, 3]
    assert set(table["type"]) <= {"bgnbd", "mbgnbd"} and table["penalizer"].between(1e-4, 0.1).all()
    ok = table[table["status"] == "ok"]
    assert first.loss == ok["loss"].min() and (first.type, first.penalizer) == tuple(ok.loc[ok["loss"].idxmin(),
                                                                                            ["type", "penalizer"]])
    pd.testing.assert_frame_equal(table, again.trials)  # seeded: same data and seed, same trials


@pytest.mark.parametrize("backend", ["hyperopt", "optuna"])
def test_monetary_tuning_on_each_backend(features: pd.DataFrame, backend: str) -> None:
    result = tune_monetary(features.assign(weight=1.0), (1e-4, 0.1), 3, seed=1, backend=backend)
    assert list(result.trials.columns) == TRIAL_COLUMNS and len(result.trials) == 3
    assert set(result.trials["type"]) == {"gamma_gamma"} and result.loss == result.trials["loss"].min()


def test_optuna_missing_is_a_config_error(features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(ConfigError, match=r"model.frequency.tuning.backend is optuna.*gda_clv\[optuna\]"):
        tune_frequency(compress(features, KEYS), ["bgnbd"], (1e-4, 0.1), 2, backend="optuna")


def test_unknown_backend_names_the_field(features: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"backend must be one of hyperopt, optuna, got 'skopt'"):
        tune_monetary(features.assign(weight=1.0), (1e-4, 0.1), 2, backend="skopt")


def test_max_evals_0_imports_no_tuner_on_databricks(features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cluster (SparkTrials path) max_evals 0 must not import hyperopt: it may not even import there."""
    for name in ("hyperopt", "optuna"):
        monkeypatch.setitem(sys.modules, name, None)
    cluster = SimpleNamespace(is_databricks=True, spark=None)
    shipped = load_config("local").model.monetary.tuning
    assert make_trials(cluster, shipped.model_copy(update={"max_evals": 0})) is None
    assert make_trials(cluster, shipped.model_copy(update={"max_evals": 5, "backend": "optuna"})) is None
    result = tune_frequency(compress(features, KEYS), ["bgnbd"], (1e-4, 0.1), 0, default_penalizer=0.001,
                            trials=make_trials(cluster, shipped.model_copy(update={"max_evals": 0})))
    assert not result.tuned and result.penalizer == 0.001
    with pytest.raises(ImportError):  # the hyperopt path on a cluster does import it
        make_trials(cluster, shipped.model_copy(update={"max_evals": 5, "backend": "hyperopt"}))


def test_backend_comes_from_yaml_and_is_validated() -> None:
    shipped = load_config("local").model
    assert (shipped.frequency.tuning.backend, shipped.monetary.tuning.backend) == ("hyperopt", "hyperopt")
    chosen = load_config("local", overrides=["model.monetary.tuning.backend=optuna"]).model.monetary.tuning
    assert chosen.backend == "optuna"
    with pytest.raises(ConfigError, match=r"model.frequency.tuning.backend"):
        load_config("local", overrides=["model.frequency.tuning.backend=skopt"])
