"""hyperopt tuning on compressed groups: loss equals the per-customer loss, seeded, max_evals 0, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gda_clv.errors import DataError, ModelError
from gda_clv.models.compress import compress
from gda_clv.models.frequency import make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.models.tuning import failure_summary, tune_frequency, tune_monetary, weighted_loss
from tests.unit.models.synthetic import KEYS, cal_holdout_features


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return cal_holdout_features(1500, seed=11)


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
    p, q, v = model.param_array()
    one_time_buyer = np.full(len(scored), p * v / (q - 1))  # what a customer without repeat purchases is given
    actual = scored["monetary_value_holdout"].to_numpy()
    expected = weighted_loss(np.concatenate([predicted, one_time_buyer]), np.concatenate([actual, actual]),
                             np.ones(2 * len(scored)), "rmse")
    assert result.loss == pytest.approx(expected, rel=1e-9)


def test_monetary_loss_grows_when_the_one_time_buyer_spend_does(features: pd.DataFrame) -> None:
    """As the penalizer pushes q towards 1, p*v/(q-1) grows without bound: the loss must see it."""
    penalizers = (0.0, 0.01, 0.05, 0.1)
    rep = features[features["frequency_cal"] > 0]
    scored = rep[rep["frequency_holdout"] > 0]
    one_time = [GammaGammaModel(pen, False).fit(rep["frequency_cal"], rep["monetary_value_cal"])
                .expected_average_spend(0, 0)[()] for pen in penalizers]
    losses = [tune_monetary(features, (0.0, 1.0), 0, default_penalizer=pen, q_constraint=False).loss
              for pen in penalizers]
    assert list(one_time) == sorted(one_time) and one_time[-1] > 10 * one_time[0]
    assert losses == sorted(losses)
    # rmse over both terms >= the one-time-buyer term's distance from the mean holdout spend / sqrt(2)
    bound = abs(one_time[-1] - scored["monetary_value_holdout"].mean()) / np.sqrt(2)
    assert losses[-1] >= bound > 400


@pytest.mark.parametrize("q_constraint", [True, False])
def test_dollars_and_cents_give_the_same_spend_at_every_penalizer(features: pd.DataFrame, q_constraint: bool) -> None:
    cents = features.assign(monetary_value_cal=features["monetary_value_cal"] * 100,
                            monetary_value_holdout=features["monetary_value_holdout"] * 100)
    in_dollars = tune_monetary(features, (0.0, 0.1), 12, seed=5, q_constraint=q_constraint)
    in_cents = tune_monetary(cents, (0.0, 0.1), 12, seed=5, q_constraint=q_constraint)
    assert (in_dollars.trials["penalizer"] == 0).any()  # 0 is in the range
    pd.testing.assert_series_equal(in_cents.trials["penalizer"], in_dollars.trials["penalizer"])
    np.testing.assert_allclose(in_cents.trials["loss"] / 100, in_dollars.trials["loss"], rtol=1e-9)
    assert in_cents.penalizer == in_dollars.penalizer
    assert (in_cents.trials["status"] == in_dollars.trials["status"]).all()
    rep = features[features["frequency_cal"] > 0]
    for penalizer in in_dollars.trials.loc[in_dollars.trials["status"] == "ok", "penalizer"]:
        dollars = GammaGammaModel(penalizer, q_constraint).fit(rep["frequency_cal"], rep["monetary_value_cal"])
        hundred = GammaGammaModel(penalizer, q_constraint).fit(rep["frequency_cal"], rep["monetary_value_cal"] * 100)
        spend = dollars.expected_average_spend(rep["frequency_cal"], rep["monetary_value_cal"])
        spend_cents = hundred.expected_average_spend(rep["frequency_cal"], rep["monetary_value_cal"] * 100)
        np.testing.assert_allclose(spend_cents / 100, spend, rtol=1e-9)


def test_bad_arguments_are_named(features: pd.DataFrame) -> None:
    """Argument checks for notebook callers; the config's tuning keys are checked by its schema."""
    with pytest.raises(ValueError) as err:
        tune_frequency(compress(features, KEYS), ["bgnbd"], (0.1, 0.01), 5)
    assert str(err.value) == "penalizer_range must be (low, high) with 0 <= low < high, got (0.1, 0.01)"
    with pytest.raises(ValueError) as err:
        tune_frequency(compress(features, KEYS), ["bgnbd"], (1e-4, 0.01), 5, loss="mse")
    assert str(err.value) == "loss must be one of rmse, mae, got 'mse'"
    with pytest.raises(ValueError) as err:
        tune_frequency(compress(features, KEYS), [], (1e-4, 0.01), 5)
    assert str(err.value) == "types must list some of bgnbd, mbgnbd, pareto_nbd, got []"
    with pytest.raises(DataError) as err:
        tune_frequency(features[["frequency_cal"]], ["bgnbd"], (1e-4, 0.01), 5)
    assert str(err.value).startswith("Cannot tune the frequency model: missing columns ['recency_cal', 'T_cal',")


FREQUENCY_COLUMNS = ["frequency_cal", "recency_cal", "T_cal", "duration_holdout", "frequency_holdout"]


def test_nobody_repeating_is_refused_before_any_fit() -> None:
    groups = pd.DataFrame([(0, 0, 30, 10, 0)] * 50 + [(0, 0, 20, 10, 1)] * 10, columns=FREQUENCY_COLUMNS)
    with pytest.raises(DataError) as err:
        tune_frequency(groups, ["bgnbd"], (1e-6, 0.1), 20)
    assert str(err.value) == (
        "Cannot tune the frequency model: none of the 60 customers bought again in the calibration period, and the "
        "models learn from repeat purchases; use more data or a later calibration end."
    )


def test_every_trial_failing_is_told_once_not_per_trial() -> None:
    same = pd.DataFrame([(5, 30, 30, 10, 0)] * 50, columns=FREQUENCY_COLUMNS)  # identical customers: no optimum
    with pytest.raises(ModelError) as err:
        tune_frequency(same, ["bgnbd"], (1e-6, 0.1), 20)
    assert str(err.value) == (
        "No frequency model configuration could be fitted: 20 of 20 trials failed: The bgnbd (model.frequency.type) "
        "fit did not converge. 5 attempts: a parameter ran off to 0 or infinity. Try a larger "
        "model.frequency.penalizer (e.g. 0.01) or another model.frequency.type (bgnbd, mbgnbd, pareto_nbd), and "
        "check that the calibration period holds enough repeat purchases."
    )


def test_failure_summary_counts_each_kind_of_error() -> None:
    trials = pd.DataFrame({
        "status": ["fail", "fail", "ok", "fail", "fail", "fail", "fail"],
        "error": ["penalizer=0.1: spend is not finite", "penalizer=0.02: spend is not finite", "", "boom 1",
                  "x", "y", "z"],
    })
    assert failure_summary(trials) == (
        "6 of 7 trials failed: 2 x penalizer=0.1: spend is not finite; 1 x boom 1; 1 x x; and 2 other kinds of error"
    )
