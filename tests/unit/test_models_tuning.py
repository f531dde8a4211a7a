"""hyperopt tuning on compressed groups: loss equals the per-customer loss, seeded, max_evals 0, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import calibration_and_holdout_data

from gda_clv.data.synthetic import generate_transactions
from gda_clv.errors import ConfigError, DataError
from gda_clv.models.compress import compress
from gda_clv.models.frequency import make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.models.tuning import tune_frequency, tune_monetary, weighted_loss

PARAMS = {"r": 0.5, "alpha": 10.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 3.8, "v": 15.0}
KEYS = ["frequency_cal", "recency_cal", "T_cal", "duration_holdout", "frequency_holdout"]


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    tx = generate_transactions(1500, PARAMS, "2020-01-01", "2020-12-31", seed=11, acquisition_end="2020-03-31")
    return calibration_and_holdout_data(tx, "customer_id", "transaction_date", calibration_period_end="2020-09-30",
                                        observation_period_end="2020-12-31", freq="W", monetary_value_col="amount")


def test_compressed_loss_equals_per_customer_loss(features: pd.DataFrame) -> None:
    groups = compress(features, KEYS)
    assert len(groups) < len(features)
    result = tune_frequency(groups, ["bgnbd"], (1e-4, 0.1), 0, default_penalizer=0.001)
    model = make_frequency_model("bgnbd", 0.001).fit(features["frequency_cal"], features["recency_cal"],
                                                     features["T_cal"])
    predicted = model.expected_purchases(features["duration_holdout"], features["frequency_cal"],
                                         features["recency_cal"], features["T_cal"])
    per_customer = float(np.sqrt(np.mean((predicted - features["frequency_holdout"]) ** 2)))
    assert result.loss == pytest.approx(per_customer, rel=1e-6)
    assert not result.tuned and (result.type, result.penalizer) == ("bgnbd", 0.001)
    assert result.trials[["trial", "type", "penalizer", "status"]].to_dict("records") == [
        {"trial": 0, "type": "bgnbd", "penalizer": 0.001, "status": "ok"}]


def test_seeded_search_over_types_is_reproducible(features: pd.DataFrame) -> None:
    groups = compress(features, KEYS)
    one = tune_frequency(groups, ["bgnbd", "mbgnbd"], (1e-4, 0.1), 6, loss="mae", seed=3)
    two = tune_frequency(groups, ["bgnbd", "mbgnbd"], (1e-4, 0.1), 6, loss="mae", seed=3)
    assert one.tuned and len(one.trials) == 6
    assert (one.type, one.penalizer, one.loss) == (two.type, two.penalizer, two.loss)
    ok = one.trials[one.trials["status"] == "ok"]
    assert one.loss == ok["loss"].min() and set(one.trials["type"]) <= {"bgnbd", "mbgnbd"}
    assert ok["penalizer"].between(1e-4, 0.1).all()


def test_monetary_tuning_scores_holdout_spend_of_repeat_buyers(features: pd.DataFrame) -> None:
    result = tune_monetary(features, (1e-5, 1e-2), 4, seed=1)
    assert result.tuned and result.type == "gamma_gamma"
    rep = features[(features["frequency_cal"] > 0) & (features["monetary_value_cal"] > 0)]
    scored = rep[rep["frequency_holdout"] > 0]
    model = GammaGammaModel(result.penalizer).fit(rep["frequency_cal"], rep["monetary_value_cal"])
    predicted = model.expected_average_spend(scored["frequency_cal"], scored["monetary_value_cal"])
    expected = weighted_loss(predicted, scored["monetary_value_holdout"], np.ones(len(scored)), "rmse")
    assert result.loss == pytest.approx(expected, rel=1e-9)


def test_bad_settings_name_the_fields(features: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as err:
        tune_frequency(compress(features, KEYS), ["bgnbd"], (0.1, 0.01), 5)
    assert str(err.value) == (
        "model.frequency.tuning.penalizer_min must be > 0 and below model.frequency.tuning.penalizer_max "
        "(got 0.1, 0.01)."
    )
    with pytest.raises(ConfigError) as err:
        tune_frequency(compress(features, KEYS), ["bgnbd"], (1e-4, 0.01), 5, loss="mse")
    assert str(err.value) == "tuning.loss must be one of rmse, mae (got 'mse')."
    with pytest.raises(DataError) as err:
        tune_frequency(features[["frequency_cal"]], ["bgnbd"], (1e-4, 0.01), 5)
    assert str(err.value).startswith("Cannot tune the frequency model: missing columns ['recency_cal', 'T_cal',")
