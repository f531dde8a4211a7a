"""MLflow pyfunc wrappers of the frequency and monetary models, and the function that logs them.

A logged model holds the fitted parameters as ``model.json`` (our ``to_dict()``) plus a tiny ``PythonModel``
whose class lives in this wheel; its only pip requirement is ``gda_clv==<version it was trained with>``, so
``mlflow.pyfunc.load_model`` works in any process where that wheel is installed.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from gda_clv import __version__
from gda_clv.errors import DataError, ModelError
from gda_clv.models import FrequencyModel, GammaGammaModel

MODEL_ARTIFACT = "model"
MODEL_FILE = "model.json"
FREQUENCY_INPUT = ("frequency", "recency", "T")
MONETARY_INPUT = ("frequency", "monetary_value")


def wheel_requirement() -> str:
    """The pip requirement pinning this wheel's version."""
    return f"gda_clv=={__version__}"


def _checked_input(model_input: Any, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"Model input is missing columns {missing}; pass {', '.join(columns)}.")
    return frame


def _load_json(context: PythonModelContext) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(Path(context.artifacts[MODEL_ARTIFACT]).read_text())  # our to_dict()
    return state


class _ModelPyfunc(PythonModel):
    """A pyfunc wrapper of one fitted model (None until MLflow's ``load_context`` loads it)."""

    def __init__(self, model: Any = None) -> None:
        self.model = model


class FrequencyPyfunc(_ModelPyfunc):
    """Scores ``frequency, recency, T`` -> ``expected_purchases`` (next ``horizon`` periods), ``probability_alive``.

    ``params={"horizon": t}`` at predict time sets the horizon in the model's time unit (default 1 period).
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Load the frequency model from the logged JSON artifact (MLflow calls this when the model is loaded)."""
        self.model = FrequencyModel.from_dict(_load_json(context))

    def predict(
        self, context: PythonModelContext | None, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """``expected_purchases`` over ``params["horizon"]`` periods and ``probability_alive``, one row per input
        row."""
        frame = _checked_input(model_input, FREQUENCY_INPUT)
        horizon = float((params or {}).get("horizon", 1.0))
        f, r, t = (frame[c].to_numpy(dtype=float) for c in FREQUENCY_INPUT)
        return pd.DataFrame(
            {
                "expected_purchases": np.asarray(self.model.expected_purchases(horizon, f, r, t), dtype=float),
                "probability_alive": np.asarray(self.model.probability_alive(f, r, t), dtype=float),
            },
            index=frame.index,
        )


class MonetaryPyfunc(_ModelPyfunc):
    """Scores ``frequency, monetary_value`` -> ``expected_average_spend`` (Gamma-Gamma conditional mean)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the Gamma-Gamma model from the logged JSON artifact (MLflow calls this when the model is loaded)."""
        self.model = GammaGammaModel.from_dict(_load_json(context))

    def predict(
        self, context: PythonModelContext | None, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """``expected_average_spend`` per input row (``params`` is accepted and ignored)."""
        frame = _checked_input(model_input, MONETARY_INPUT)
        f, m = (frame[c].to_numpy(dtype=float) for c in MONETARY_INPUT)
        spend = np.asarray(self.model.expected_average_spend(f, m), dtype=float)
        return pd.DataFrame({"expected_average_spend": spend}, index=frame.index)


_WRAPPERS: dict[str, tuple[type[_ModelPyfunc], dict[str, Any] | None]] = {
    "frequency": (FrequencyPyfunc, {"horizon": 1.0}),
    "monetary": (MonetaryPyfunc, None),
}


def _name_kwarg(name: str) -> dict[str, str]:
    """mlflow 3 names a logged model with ``name``; mlflow 2 with ``artifact_path``."""
    major = int(mlflow.__version__.split(".")[0])
    return {"name": name} if major >= 3 else {"artifact_path": name}


def log_pyfunc_model(
    model: FrequencyModel | GammaGammaModel,
    kind: str,
    input_example: pd.DataFrame,
    name: str = "model",
    code_paths: list[str] | None = None,
) -> ModelInfo:
    """Log a fitted ``kind`` ("frequency" or "monetary") model to the active run as a pyfunc model.

    The signature is inferred from ``input_example`` (as doubles, the feature table's type; MLflow then rejects
    int64 columns at predict time, so score float64 columns) and the wrapper's own prediction on it. ``code_paths``
    (e.g. the ``gda_clv`` package folder) embeds the code for environments that lack the wheel.

    Raises ``ModelError`` for an unknown ``kind`` or a model that did not converge.
    """
    if kind not in _WRAPPERS:
        raise ModelError(f"Unknown model kind {kind!r}; use one of {', '.join(_WRAPPERS)}.")
    if not getattr(model, "converged_", False):
        raise ModelError(f"The {kind} model did not converge; it cannot be logged as a candidate.")
    wrapper_cls, params = _WRAPPERS[kind]
    example = input_example.reset_index(drop=True).astype(float)
    output = wrapper_cls(model).predict(None, example, params)
    signature = infer_signature(example, output, params=params)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_FILE
        path.write_text(json.dumps(model.to_dict(), indent=2, sort_keys=True))
        info: ModelInfo = mlflow.pyfunc.log_model(
            python_model=wrapper_cls(),
            artifacts={MODEL_ARTIFACT: str(path)},
            signature=signature,
            input_example=example,
            pip_requirements=[wheel_requirement()],
            code_paths=code_paths,
            **_name_kwarg(name),
        )
        return info


def unwrap_model(pyfunc_model: Any) -> Any:
    """The gda_clv model inside a loaded pyfunc model (e.g. to read its parameters for Spark scoring).

    Raises ``ModelError`` when the loaded model is not a gda_clv frequency/monetary model.
    """
    inner = pyfunc_model.unwrap_python_model()
    if not isinstance(inner, FrequencyPyfunc | MonetaryPyfunc):
        raise ModelError(f"The loaded model is a {type(inner).__name__}, not a gda_clv frequency/monetary model.")
    return inner.model

