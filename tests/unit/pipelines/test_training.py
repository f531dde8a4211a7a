"""Pure helpers of the training steps on tiny compressed frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gda_clv.models.frequency import FrequencyModel
from gda_clv.pipelines.train_frequency import holdout_metrics
from gda_clv.pipelines.train_monetary import weighted_correlation


def test_weighted_correlation_equals_correlation_of_expanded_rows() -> None:
    x, y, w = np.array([1.0, 2.0, 5.0]), np.array([10.0, 30.0, 20.0]), np.array([3.0, 1.0, 2.0])
    expanded = np.corrcoef(np.repeat(x, w.astype(int)), np.repeat(y, w.astype(int)))[0, 1]
    assert weighted_correlation(x, y, w) == pytest.approx(expanded)
    assert np.isnan(weighted_correlation(np.ones(3), y, w))


def test_holdout_metrics_weight_groups_like_customers() -> None:
    model = FrequencyModel.from_dict({"type": "bgnbd", "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}})
    groups = pd.DataFrame({"frequency_cal": [0.0, 2.0], "recency_cal": [0.0, 20.0], "T_cal": [39.0, 39.0],
                           "duration_holdout": [39.0, 39.0], "frequency_holdout": [0.0, 3.0], "weight": [4.0, 1.0]})
    predicted = model.expected_purchases(39.0, [0.0, 2.0], [0.0, 20.0], [39.0, 39.0])
    metrics = holdout_metrics(model, groups, "rmse")
    assert metrics["holdout_actual_purchases"] == 3.0
    assert metrics["holdout_predicted_purchases"] == pytest.approx(4 * predicted[0] + predicted[1])
    rmse = np.sqrt((4 * predicted[0] ** 2 + (predicted[1] - 3.0) ** 2) / 5)
    assert metrics["holdout_rmse"] == pytest.approx(rmse)
