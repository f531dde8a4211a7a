"""Gamma-Gamma: published CDNOW values, parity with lifetimes, expected spend, persistence."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifetimes import GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

from gda_clv.errors import DataError, ModelError
from gda_clv.models.gamma_gamma import GammaGammaModel, gamma_gamma_objective


@pytest.fixture(scope="module")
def repeat() -> pd.DataFrame:
    d = load_cdnow_summary_data_with_monetary_value()
    return d[d["frequency"] > 0]


def test_matches_published_cdnow_values(repeat: pd.DataFrame) -> None:
    model = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    assert model.converged_
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():  # Fader & Hardie (2013)
        assert model.params_[name] == pytest.approx(value, abs=0.01)


@pytest.mark.parametrize("q_constraint", [False, True])
def test_unpenalized_fit_equals_lifetimes(repeat: pd.DataFrame, q_constraint: bool) -> None:
    ref = GammaGammaFitter(penalizer_coef=0.0).fit(
        repeat["frequency"], repeat["monetary_value"], q_constraint=q_constraint)
    ours = GammaGammaModel(0.0, q_constraint).fit(repeat["frequency"], repeat["monetary_value"])
    assert np.max(np.abs(ours.param_array() / ref.params_.values - 1)) < 1e-4
    assert np.max(np.abs(np.array(list(ours.standard_errors_.values())) / ref.standard_errors_.values - 1)) < 1e-3
    assert ours.log_likelihood_ == pytest.approx(
        -ref._negative_log_likelihood(np.log(ref.params_.values), repeat["frequency"].to_numpy(),
                                      repeat["monetary_value"].to_numpy(), np.ones(len(repeat)), 0.0) * len(repeat),
        rel=1e-9)


@pytest.mark.parametrize("penalizer", [0.0, 1e-4, 0.01, 0.1])
def test_estimates_do_not_depend_on_the_currency_unit(repeat: pd.DataFrame, penalizer: float) -> None:
    dollars = GammaGammaModel(penalizer, False).fit(repeat["frequency"], repeat["monetary_value"])
    cents = GammaGammaModel(penalizer, False).fit(repeat["frequency"], repeat["monetary_value"] * 100)
    np.testing.assert_allclose(cents.param_array(), dollars.param_array() * [1, 1, 100], rtol=1e-6)
    spend_dollars = dollars.expected_average_spend(repeat["frequency"], repeat["monetary_value"])
    spend_cents = cents.expected_average_spend(repeat["frequency"], repeat["monetary_value"] * 100)
    np.testing.assert_allclose(spend_cents / 100, spend_dollars, rtol=1e-9)


def test_an_optimum_on_the_q_bound_is_an_error_not_a_fit(repeat: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match=r"ended on the bound q = 1 .*Lower model.monetary.penalizer"):
        GammaGammaModel(1.0, q_constraint=True).fit(repeat["frequency"], repeat["monetary_value"])


def test_compressed_fit_equals_plain_fit(repeat: pd.DataFrame) -> None:
    doubled = pd.concat([repeat, repeat])
    plain = GammaGammaModel().fit(doubled["frequency"], doubled["monetary_value"])
    weighted = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"], np.full(len(repeat), 2.0))
    np.testing.assert_allclose(weighted.param_array(), plain.param_array(), rtol=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-9)


def test_expected_average_spend_equals_lifetimes_including_one_time_buyers(repeat: pd.DataFrame) -> None:
    model = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    ref = model.to_lifetimes()
    f = np.array([0.0, 1.0, 5.0])
    m = np.array([0.0, 20.0, 35.5])
    np.testing.assert_allclose(model.expected_average_spend(f, m), ref.conditional_expected_average_profit(f, m),
                               rtol=1e-12)
    p, q, v = model.param_array()
    assert model.expected_average_spend(0, 0)[()] == pytest.approx(p * v / (q - 1))


def test_spend_line_is_the_weighted_mean_of_population_mean_and_own_spend(repeat: pd.DataFrame) -> None:
    """What Spark scoring applies per customer: base(x) + slope(x) * m, equal to lifetimes for any m."""
    model = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    p, q, v = model.param_array()
    f = np.array([0.0, 1.0, 5.0])
    base, slope = model.spend_line(f)
    np.testing.assert_allclose(slope, p * f / (p * f + q - 1), rtol=1e-15)
    assert base[0] == pytest.approx(p * v / (q - 1)) and slope[0] == 0.0
    m = np.array([12.0, 20.0, 35.5])
    np.testing.assert_allclose(base + slope * m, model.to_lifetimes().conditional_expected_average_profit(f, m),
                               rtol=1e-12)


def test_round_trip_through_json(repeat: pd.DataFrame) -> None:
    model = GammaGammaModel(0.001).fit(repeat["frequency"], repeat["monetary_value"])
    back = GammaGammaModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert back.params_ == model.params_ and back.q_constraint and back.penalizer == 0.001
    assert back.log_likelihood_ == model.log_likelihood_


def test_one_time_buyers_are_a_data_error() -> None:
    with pytest.raises(DataError) as err:
        GammaGammaModel().fit([0, 2], [0.0, 10.0])
    assert str(err.value) == (
        "The Gamma-Gamma model needs repeat customers only: 'frequency' and 'monetary_value' must be > 0 "
        "(use filtered_cal)."
    )


def test_objective_equals_lifetimes_with_its_gradient(repeat: pd.DataFrame) -> None:
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    w = np.arange(len(x)) % 3 + 1.0
    objective = gamma_gamma_objective(x, m, w)
    log_params = np.log([4.0, 2.5, 12.0])
    value, grad = objective(log_params, 0.02)
    ref = GammaGammaFitter._negative_log_likelihood(log_params, x, m, w, 0.02)
    assert value == pytest.approx(ref, rel=1e-12)
    step = 1e-6
    numeric = [(objective(log_params + e, 0.02)[0] - objective(log_params - e, 0.02)[0]) / (2 * step)
               for e in np.eye(3) * step]
    assert np.allclose(grad, numeric, rtol=1e-6, atol=1e-8)
