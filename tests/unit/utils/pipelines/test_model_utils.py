"""Seed model utilities: ModelConfig, GetDummies, tree sizes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor

from gda_clv.errors import ModelError
from gda_clv.utils.pipelines.model_utils import GetDummies, ModelConfig, get_estimator_size, tree_nbytes


@pytest.fixture()
def frame() -> pd.DataFrame:
    return pd.DataFrame({"region": ["NOAM", "EMEA", "NOAM", "APAC"], "tier": ["a", "b", "b", "a"], "x": [1.0, 2, 3, 4]})


def test_get_dummies_keeps_training_columns_for_unseen_and_missing_categories(frame: pd.DataFrame) -> None:
    enc = GetDummies().fit(frame)
    assert list(enc.get_feature_names_out()) == ["x", "region_APAC", "region_EMEA", "region_NOAM", "tier_a", "tier_b"]
    scoring = pd.DataFrame({"region": ["LATAM", "EMEA"], "tier": ["a", "a"], "x": [5.0, 6.0]})
    out = enc.transform(scoring)
    assert list(out.columns) == list(enc.get_feature_names_out())
    assert out.to_numpy().tolist() == [[5.0, 0, 0, 0, 1, 0], [6.0, 0, 1, 0, 1, 0]]
    assert out["tier_b"].dtype == np.float64


def test_get_dummies_explicit_columns_and_missing_input_column(frame: pd.DataFrame) -> None:
    enc = GetDummies(columns=["tier"]).fit(frame)
    assert list(enc.get_feature_names_out()) == ["region", "x", "tier_a", "tier_b"]
    with pytest.raises(ModelError) as err:
        enc.transform(frame.drop(columns=["tier"]))
    assert str(err.value) == "GetDummies: input is missing the categorical columns ['tier'] seen in fit."


def test_get_dummies_in_a_pipeline_scores_unseen_categories(frame: pd.DataFrame) -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pipe = Pipeline([("dummies", GetDummies()), ("model", LinearRegression())]).fit(frame, y)
    pred = pipe.predict(pd.DataFrame({"region": ["MARS"], "tier": ["zzz"], "x": [2.0]}))
    assert pred.shape == (1,) and np.isfinite(pred[0])


def test_model_config_params_round_trip() -> None:
    cfg = ModelConfig("y", ["a", "b", "c"], categorical_cols=["a"], numeric_cols=["b", "c"])
    params = {"target_col": "y", "feature_cols": "a,b,c", "categorical_cols": "a", "numeric_cols": "b,c"}
    assert cfg.to_params() == params
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_model_config_rejects_columns_outside_features() -> None:
    with pytest.raises(ModelError) as err:
        ModelConfig("y", ["a"], categorical_cols=["z"])
    assert str(err.value) == "ModelConfig: categorical/numeric columns ['z'] are not in feature_cols; add them there."


def _xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, X[:, 0] * 2 + rng.normal(size=60)


def test_tree_nbytes_sums_node_arrays() -> None:
    X, y = _xy()
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    t = tree.tree_
    n = t.node_count
    # 7 per-node arrays of 8-byte items (children x2, feature, threshold, impurity, samples, weighted) + values
    expected = 8 * n * 7 + t.value.nbytes
    assert tree_nbytes(tree) == expected == tree_nbytes(t)
    assert get_estimator_size(tree) == expected


def test_get_estimator_size_forest_boosting_and_pipeline() -> None:
    X, y = _xy()
    forest = RandomForestRegressor(n_estimators=4, max_depth=3, random_state=0).fit(X, y)
    per_tree = [tree_nbytes(est) for est in forest.estimators_]
    assert get_estimator_size(forest) == sum(per_tree) > 0
    assert get_estimator_size(Pipeline([("m", forest)])) == sum(per_tree)
    gbr = GradientBoostingRegressor(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    assert get_estimator_size(gbr) == sum(tree_nbytes(t) for t in gbr.estimators_.ravel())


def test_get_estimator_size_rejects_non_tree_models() -> None:
    X, y = _xy()
    with pytest.raises(ModelError) as err:
        get_estimator_size(LinearRegression().fit(X, y))
    assert str(err.value) == (
        "get_estimator_size: LinearRegression is not a fitted tree model, forest or boosting ensemble."
    )
