"""pyfunc wrappers: logged with a signature, input example and the wheel pin; loaded back (also in a fresh process)."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from gda_clv import __version__
from gda_clv.errors import DataError, ModelError
from gda_clv.models._lifetimes import lifetimes, quiet
from gda_clv.models.frequency import FrequencyModel, make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.utils.pipelines.pyfunc import FrequencyPyfunc, log_pyfunc_model, unwrap_model


def _requirements(model_uri: str) -> list[str]:
    return Path(mlflow.pyfunc.get_model_dependencies(model_uri)).read_text().split()


def test_frequency_model_round_trip_matches_lifetimes(
    mlflow_experiment: str, bgnbd_cdnow: FrequencyModel, cdnow_summary: pd.DataFrame
) -> None:
    inputs = cdnow_summary[["frequency", "recency", "T"]].astype(float)  # doubles, as in the feature table
    with mlflow.start_run():
        info = log_pyfunc_model(bgnbd_cdnow, "frequency", inputs.head(5))
    assert info.signature.inputs.input_names() == ["frequency", "recency", "T"]
    assert [s.type.name for s in info.signature.inputs.inputs] == ["double", "double", "double"]
    assert info.signature.outputs.input_names() == ["expected_purchases", "probability_alive"]
    assert info.signature.params.to_dict() == [{"name": "horizon", "type": "double", "default": 1.0, "shape": None}]
    assert _requirements(info.model_uri) == [f"mlflow=={mlflow.__version__}", f"gda_clv=={__version__}"]

    loaded = mlflow.pyfunc.load_model(info.model_uri)
    scored = loaded.predict(inputs, params={"horizon": 39.0})
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(bgnbd_cdnow.param_array(), index=["r", "alpha", "a", "b"])
    with quiet():
        expected = bgf.conditional_expected_number_of_purchases_up_to_time(
            39.0, inputs["frequency"], inputs["recency"], inputs["T"]
        )
        alive = bgf.conditional_probability_alive(inputs["frequency"], inputs["recency"], inputs["T"])
    np.testing.assert_allclose(scored["expected_purchases"], expected, rtol=1e-9)
    np.testing.assert_allclose(scored["probability_alive"], alive, rtol=1e-9)
    assert unwrap_model(loaded).params_ == bgnbd_cdnow.params_


def test_monetary_model_round_trip(mlflow_experiment: str, gamma_gamma_cdnow: GammaGammaModel) -> None:
    example = pd.DataFrame({"frequency": [0.0, 1.0, 6.0], "monetary_value": [0.0, 20.0, 35.5]})
    with mlflow.start_run():
        info = log_pyfunc_model(gamma_gamma_cdnow, "monetary", example)
    assert info.signature.outputs.input_names() == ["expected_average_spend"]
    scored = mlflow.pyfunc.load_model(info.model_uri).predict(example)
    expected = gamma_gamma_cdnow.expected_average_spend(example["frequency"], example["monetary_value"])
    np.testing.assert_allclose(scored["expected_average_spend"], expected, rtol=1e-12)
    p, q, v = gamma_gamma_cdnow.param_array()
    assert scored["expected_average_spend"][0] == pytest.approx(p * v / (q - 1))  # one-time buyer: population mean


def test_model_loads_and_scores_in_a_fresh_process(
    mlflow_experiment: str, bgnbd_cdnow: FrequencyModel, mlflow_store: Path, tmp_path: Path
) -> None:
    example = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.0], "T": [38.0, 38.0]})
    with mlflow.start_run():
        info = log_pyfunc_model(bgnbd_cdnow, "frequency", example)
    script = (
        "import json, sys, mlflow, pandas as pd\n"
        "m = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "out = m.predict(pd.DataFrame(json.loads(sys.argv[2])), params={'horizon': 10.0})\n"
        "print(json.dumps(out['expected_purchases'].tolist()))\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}
    done = subprocess.run(
        [sys.executable, "-c", script, info.model_uri, json.dumps(example.to_dict(orient="list"))],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    fresh = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(fresh, bgnbd_cdnow.expected_purchases(10.0, *example.to_numpy().T), rtol=1e-12)


def test_model_logged_under_the_old_wrapper_path_still_loads(
    mlflow_experiment: str, bgnbd_cdnow: FrequencyModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Models logged before the wrappers left gda_clv.models pickled ``gda_clv.models.pyfunc.FrequencyPyfunc``."""
    example = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.0], "T": [38.0, 38.0]})
    with mlflow.start_run():
        info = log_pyfunc_model(bgnbd_cdnow, "frequency", example)
    local = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path)))
    monkeypatch.setattr(FrequencyPyfunc, "__module__", "gda_clv.models.pyfunc")
    old_pickle = pickle.dumps(FrequencyPyfunc())  # by reference, as the earlier build wrote it
    monkeypatch.undo()
    assert b"gda_clv.models.pyfunc" in old_pickle and b"gda_clv.utils" not in old_pickle
    (local / "python_model.pkl").write_bytes(old_pickle)
    script = (
        "import sys, mlflow, pandas as pd\n"
        "m = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "print(m.predict(pd.DataFrame({'frequency': [2.0], 'recency': [30.0], 'T': [38.0]}))"
        "['expected_purchases'].iloc[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(local)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = bgnbd_cdnow.expected_purchases(1.0, [2.0], [30.0], [38.0])[0]
    assert float(done.stdout.strip().splitlines()[-1]) == pytest.approx(expected, rel=1e-12)


def test_missing_input_column_names_the_columns(bgnbd_cdnow: FrequencyModel) -> None:
    with pytest.raises(DataError) as err:
        FrequencyPyfunc(bgnbd_cdnow).predict(None, pd.DataFrame({"frequency": [1.0]}))
    assert str(err.value) == "Model input is missing columns ['recency', 'T']; pass frequency, recency, T."


def test_unconverged_model_is_never_logged() -> None:
    with pytest.raises(ModelError) as err:
        log_pyfunc_model(make_frequency_model("bgnbd"), "frequency", pd.DataFrame({"frequency": [1.0]}))
    assert str(err.value) == "The frequency model did not converge; it cannot be logged as a candidate."
