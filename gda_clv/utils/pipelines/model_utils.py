"""Seed model utilities: model column configuration, a leak-free one-hot encoder, tree-model memory size."""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from gda_clv.errors import ModelError

MODEL_CONFIG_ARTIFACT = "model_config.json"
_LIST_FIELDS = ("feature_cols", "categorical_cols", "numeric_cols")


@dataclass
class ModelConfig:
    """Which columns a model uses: the target, its features, and which of those are categorical / numeric."""

    target_col: str
    feature_cols: list[str] = field(default_factory=list)
    categorical_cols: list[str] = field(default_factory=list)
    numeric_cols: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.categorical_cols + self.numeric_cols) - set(self.feature_cols))
        if self.feature_cols and unknown:
            raise ModelError(
                f"ModelConfig: categorical/numeric columns {unknown} are not in feature_cols; add them there."
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (what :meth:`from_dict` reads)."""
        return asdict(self)

    def to_params(self) -> dict[str, str]:
        """Flat MLflow params (lists as comma-separated strings)."""
        params = {"target_col": self.target_col}
        params.update({name: ",".join(getattr(self, name)) for name in _LIST_FIELDS})
        return params

    def log_to_mlflow(self) -> None:
        """Log as params and as the ``model_config.json`` artifact of the active MLflow run."""
        import mlflow

        mlflow.log_params(self.to_params())
        mlflow.log_dict(self.to_dict(), MODEL_CONFIG_ARTIFACT)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """A config from :meth:`to_dict`'s output; raises ``ModelError`` when categorical/numeric columns are not in
        ``feature_cols``."""
        return cls(**{key: data[key] for key in ("target_col", *_LIST_FIELDS) if key in data})

    @classmethod
    def from_mlflow_run(cls, run_id: str, client: Any = None) -> ModelConfig:
        """Read the config of a run: its ``model_config.json`` artifact, else its params.

        Raises ``ModelError`` when the run has neither.
        """
        from mlflow.tracking import MlflowClient

        client = client or MlflowClient()
        names = {info.path for info in client.list_artifacts(run_id)}
        if MODEL_CONFIG_ARTIFACT in names:
            with tempfile.TemporaryDirectory() as tmp:
                path = client.download_artifacts(run_id, MODEL_CONFIG_ARTIFACT, tmp)
                return cls.from_dict(json.loads(Path(path).read_text()))
        params = client.get_run(run_id).data.params
        if "target_col" not in params:
            raise ModelError(
                f"MLflow run {run_id} has no {MODEL_CONFIG_ARTIFACT} artifact and no target_col param; "
                "log the config with ModelConfig.log_to_mlflow() in the training run."
            )
        lists = {name: [c for c in params.get(name, "").split(",") if c] for name in _LIST_FIELDS}
        return cls(target_col=params["target_col"], **lists)


class GetDummies(BaseEstimator, TransformerMixin):
    """One-hot encode with ``pandas.get_dummies``, keeping exactly the training columns at transform time.

    Categories unseen in training become all-zero rows; training categories absent at scoring become zero
    columns, so a scoring frame always has the fitted column order.
    """

    def __init__(self, columns: list[str] | None = None, dummy_na: bool = False, dtype: Any = np.float64) -> None:
        self.columns = columns
        self.dummy_na = dummy_na
        self.dtype = dtype

    def _encode(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise ModelError(f"GetDummies expects a pandas DataFrame, got {type(X).__name__}.")
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise ModelError(f"GetDummies: input is missing the categorical columns {missing} seen in fit.")
        return pd.get_dummies(X, columns=self.columns_, dummy_na=self.dummy_na, dtype=self.dtype)

    def fit(self, X: pd.DataFrame, y: Any = None) -> GetDummies:
        """Learn the categorical columns (given, else object/category dtypes) and the output columns; returns self.

        Raises ``ModelError`` when ``X`` is not a DataFrame or lacks a given categorical column.
        """
        if self.columns is None:
            self.columns_ = list(X.select_dtypes(include=["object", "category"]).columns)
        else:
            self.columns_ = list(self.columns)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.output_columns_ = list(self._encode(X).columns)
        passthrough = set(X.columns) - set(self.columns_)
        self.dummy_columns_ = [c for c in self.output_columns_ if c not in passthrough]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` encoded to exactly the columns seen in :meth:`fit` (unseen categories dropped, missing ones 0).

        Raises ``ModelError`` when ``X`` is not a DataFrame or lacks a categorical column seen in fit.
        """
        encoded = self._encode(X).reindex(columns=self.output_columns_, fill_value=0)
        return encoded.astype({c: self.dtype for c in self.dummy_columns_})

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """The output column names of :meth:`transform`."""
        return np.asarray(self.output_columns_, dtype=object)


_TREE_ARRAYS = (
    "children_left",
    "children_right",
    "feature",
    "threshold",
    "value",
    "impurity",
    "n_node_samples",
    "weighted_n_node_samples",
)


def tree_nbytes(tree: Any) -> int:
    """Bytes held by the node arrays of one fitted scikit-learn decision tree (estimator or its ``tree_``).

    Raises ``ModelError`` when ``tree`` is not a fitted decision tree.
    """
    inner = getattr(tree, "tree_", tree)
    if not hasattr(inner, "children_left"):
        raise ModelError(f"tree_nbytes expects a fitted decision tree, got {type(tree).__name__}.")
    return int(sum(getattr(inner, name).nbytes for name in _TREE_ARRAYS))


def get_estimator_size(estimator: Any) -> int:
    """Bytes of the trees in a fitted tree model, forest or boosting ensemble, or a Pipeline ending in one.

    Raises ``ModelError`` for any other estimator.
    """
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if hasattr(final, "tree_"):
        return tree_nbytes(final)
    members = getattr(final, "estimators_", None)
    if members is None:
        raise ModelError(
            f"get_estimator_size: {type(final).__name__} is not a fitted tree model, forest or boosting ensemble."
        )
    return int(sum(tree_nbytes(member) for member in np.ravel(np.asarray(members, dtype=object))))
