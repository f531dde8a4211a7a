"""Frequency models: parity with lifetimes, published CDNOW values, compression, retries, persistence."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.datasets import load_cdnow_summary

from gda_clv.errors import DataError, ModelError
from gda_clv.models._fitting import Attempt, fit_with_retries
from gda_clv.models.bgnbd import bgnbd_objective
from gda_clv.models.compress import compress
from gda_clv.models.frequency import FrequencyModel, make_frequency_model

LIFETIMES = {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def synthetic_rfm() -> pd.DataFrame:
    """2,000 customers drawn from BG/NBD in continuous time (few ties), T in days."""
    rng = np.random.default_rng(7)
    n = 2000
    age = rng.uniform(200, 400, n)
    lam = rng.gamma(0.5, 1 / 20.0, n)
    x = np.minimum(rng.poisson(lam * age), rng.geometric(rng.beta(0.8, 2.5, n)))
    rec = np.where(x > 0, age * rng.beta(np.maximum(x, 1), 1), 0.0)
    return pd.DataFrame({"frequency": x.astype(float), "recency": np.round(rec), "T": np.round(age)})


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1)))


def test_bgnbd_matches_published_cdnow_values(cdnow: pd.DataFrame) -> None:
    model = make_frequency_model("bgnbd", 0.0).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert model.converged_
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)
    for name, value in published.items():
        assert model.params_[name] == pytest.approx(value, abs=1e-3)
    assert model.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)  # FHL 2005: LL = -9582.4


@pytest.mark.parametrize(
    ("model_type", "penalizer", "data"),
    [("bgnbd", 0.0, "cdnow"), ("bgnbd", 0.01, "cdnow"), ("bgnbd", 0.0, "synthetic_rfm"),
     ("bgnbd", 0.01, "synthetic_rfm"), ("mbgnbd", 0.0, "cdnow"), ("mbgnbd", 0.01, "cdnow"),
     ("mbgnbd", 0.0, "synthetic_rfm")],
)
def test_fit_equals_lifetimes_on_all_customers(model_type: str, penalizer: float, data: str, request) -> None:
    df = request.getfixturevalue(data)
    ref = LIFETIMES[model_type](penalizer_coef=penalizer).fit(df["frequency"], df["recency"], df["T"])
    ours = make_frequency_model(model_type, penalizer).fit(df["frequency"], df["recency"], df["T"])
    assert _rel(ours.param_array(), ref.params_.values) < 1e-4
    assert _rel(list(ours.standard_errors_.values()), ref.standard_errors_.values) < 1e-3
    ref_ll0 = -type(ref)._negative_log_likelihood(
        np.log(ref.params_.values * [1, ref._scale, 1, 1]), df["frequency"].to_numpy(int),
        df["recency"].to_numpy() * ref._scale, df["T"].to_numpy() * ref._scale, np.ones(len(df)), 0.0,
    ) * len(df)
    jacobian = df["frequency"].sum() * np.log(ref._scale)  # ours is reported in the data's time unit
    assert ours.log_likelihood_ == pytest.approx(ref_ll0 + jacobian, rel=1e-6)


@pytest.mark.parametrize(("model_type", "penalizer"), [("bgnbd", 0.001), ("mbgnbd", 0.0)])
def test_compressed_fit_equals_lifetimes_plain_fit(model_type: str, penalizer: float, synthetic_rfm) -> None:
    groups = compress(synthetic_rfm, ["frequency", "recency", "T"])
    assert len(groups) < len(synthetic_rfm)
    ours = make_frequency_model(model_type, penalizer).fit(groups["frequency"], groups["recency"], groups["T"],
                                                           groups["weight"])
    ref = LIFETIMES[model_type](penalizer_coef=penalizer).fit(
        synthetic_rfm["frequency"], synthetic_rfm["recency"], synthetic_rfm["T"])
    assert _rel(ours.param_array(), ref.params_.values) < 1e-4
    assert ours.n_customers_ == len(synthetic_rfm) and ours.n_tuples_ == len(groups)


def test_degenerate_optimum_is_refused_where_lifetimes_accepts_it(synthetic_rfm: pd.DataFrame) -> None:
    """MBG/NBD with a penalizer on BG/NBD data: lifetimes "succeeds" with a, b ~ 1e-18; we call that a failure."""
    df = synthetic_rfm
    ref = ModifiedBetaGeoFitter(penalizer_coef=0.01).fit(df["frequency"], df["recency"], df["T"])
    assert ref.params_["a"] < 1e-10
    with pytest.raises(ModelError, match="a parameter ran off to 0 or infinity"):
        make_frequency_model("mbgnbd", 0.01).fit(df["frequency"], df["recency"], df["T"])


def test_pareto_nbd_close_to_lifetimes(cdnow: pd.DataFrame) -> None:
    np.random.seed(0)  # lifetimes draws its Nelder-Mead start point from the global generator
    ref = ParetoNBDFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    groups = compress(cdnow, ["frequency", "recency", "T"])
    ours = make_frequency_model("pareto_nbd").fit(groups["frequency"], groups["recency"], groups["T"], groups["weight"])
    assert _rel(ours.param_array(), ref.params_.values) < 1e-3  # lifetimes' Nelder-Mead stops at tol 1e-4
    assert all(np.isfinite(v) and v > 0 for v in ours.standard_errors_.values())


@pytest.mark.parametrize("model_type", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_predictions_equal_lifetimes_formulas(model_type: str, cdnow: pd.DataFrame) -> None:
    model = make_frequency_model(model_type, 0.0).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ref = model.to_lifetimes()
    f, r, t = cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    expected = ref.conditional_expected_number_of_purchases_up_to_time(39.0, f, r, t)
    assert np.max(np.abs(model.expected_purchases(39.0, f, r, t) / expected - 1)) < 1e-12
    assert np.max(np.abs(model.probability_alive(f, r, t) / ref.conditional_probability_alive(f, r, t) - 1)) < 1e-12


def test_bgnbd_expected_purchases_finite_where_lifetimes_log_is_nan() -> None:
    model = FrequencyModel.from_dict({"type": "bgnbd", "params": {"r": 0.29, "alpha": 6.9, "a": 0.26, "b": 0.69}})
    value = model.expected_purchases(39.0, np.array([0.0, 2.0]), np.array([0.0, 20.0]), np.array([30.0, 30.0]))
    assert np.all(np.isfinite(value)) and np.all(value > 0)


def test_to_dict_round_trip_through_json(cdnow: pd.DataFrame) -> None:
    model = make_frequency_model("mbgnbd", 0.01).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    back = FrequencyModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert type(back) is type(model) and back.params_ == model.params_
    assert back.standard_errors_ == model.standard_errors_ and back.fit_attempts_ == model.fit_attempts_
    f, r, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    np.testing.assert_array_equal(back.expected_purchases(10, f, r, t), model.expected_purchases(10, f, r, t))


def test_to_lifetimes_supports_lifetimes_matrix_and_data(cdnow: pd.DataFrame) -> None:
    model = make_frequency_model("bgnbd").fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    fitter = model.to_lifetimes(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    matrix = fitter.conditional_probability_alive_matrix()
    assert matrix.shape == (39, 30)
    assert len(fitter.generate_new_data(size=5)) == 5
    assert fitter.predict(5, 2, 30.0, 38.0) == pytest.approx(float(model.expected_purchases(5, 2, 30.0, 38.0)[()]))


def test_unknown_type_names_the_argument() -> None:
    """An argument check for notebook callers; the config's model.frequency.type is checked by its schema."""
    with pytest.raises(ValueError) as err:
        make_frequency_model("bgbd", 0.0)
    assert str(err.value) == "type must be one of bgnbd, mbgnbd, pareto_nbd, got 'bgbd'"


def test_negative_penalizer_is_refused() -> None:
    with pytest.raises(ValueError) as err:
        make_frequency_model("bgnbd", -1.0)
    assert str(err.value) == "penalizer must be a number >= 0, got -1.0"


def test_recency_above_t_is_a_data_error() -> None:
    with pytest.raises(DataError) as err:
        make_frequency_model("bgnbd").fit([1, 2], [5.0, 12.0], [10.0, 10.0])
    assert str(err.value) == "Column 'recency' is larger than 'T' for 1 customers; recency <= T."


def test_unidentifiable_data_fails_with_every_attempt_named() -> None:
    with pytest.raises(ModelError) as err:
        make_frequency_model("bgnbd").fit([0, 0, 0, 0], [0, 0, 0, 0], [5, 6, 7, 8])
    flat = "the likelihood is flat in some parameter (not identifiable from this data)"
    gone = "a parameter ran off to 0 or infinity"
    assert str(err.value) == (
        "The bgnbd (model.frequency.type) fit did not converge. Tried: "
        f"start=[1.11, 1.11, 1.11, 1.11] penalizer=0: {flat}; start=[1, 1, 1, 1] penalizer=0: {flat}; "
        f"start=[0.5, 0.5, 1, 3] penalizer=0: {flat}; start=[1.11, 1.11, 1.11, 1.11] penalizer=0.001: {gone}; "
        f"start=[1.11, 1.11, 1.11, 1.11] penalizer=0.01: {gone}. Try a larger model.frequency.penalizer (e.g. 0.01) "
        "or another model.frequency.type (bgnbd, mbgnbd, pareto_nbd), and check that the calibration period holds "
        "enough repeat purchases."
    )


def test_retry_policy_tries_starts_then_larger_penalizers() -> None:
    seen: list[tuple[float, float]] = []

    def attempt(x0: np.ndarray, penalizer: float) -> Attempt:
        seen.append((float(x0[0]), penalizer))
        ok = penalizer >= 0.002
        return Attempt(converged=ok, x=x0, fun=0.0, message="converged" if ok else "nope", hessian=np.eye(1))

    outcome = fit_with_retries(attempt, [np.zeros(1), np.ones(1)], 0.001, what="test", fix="")
    assert seen == [(0.0, 0.001), (1.0, 0.001), (0.0, 0.002)]
    assert outcome.penalizer == 0.002
    assert outcome.attempts == ["start=[1] penalizer=0.001: nope", "start=[2.72] penalizer=0.001: nope",
                                "start=[1] penalizer=0.002: converged"]


def test_fit_leaves_warning_filters_alone_and_prints_nothing(cdnow: pd.DataFrame, capsys) -> None:
    before = list(warnings.filters)
    for model_type in ("bgnbd", "mbgnbd"):
        make_frequency_model(model_type).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"]).expected_purchases(
            5, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert list(warnings.filters) == before
    assert capsys.readouterr().out == ""


def _central_grad(fun, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    return np.array([(fun(x + e) - fun(x - e)) / (2 * step) for e in np.eye(len(x)) * step])


def test_bgnbd_objective_equals_lifetimes_with_its_gradient_where_the_dropout_branch_dominates() -> None:
    # Repeat buyers with t_x << T and many purchases give d = A4 - A3 > 30 (the overflow-guarded branch).
    x = np.array([0.0, 0.0, 1.0, 3.0, 3.0, 60.0, 80.0, 2.0])
    rec = np.array([0.0, 0.0, 0.2, 0.5, 0.9, 0.01, 0.02, 0.7])
    age = np.array([1.0, 0.6, 0.6, 1.0, 1.0, 1.0, 0.9, 0.7])
    w = np.array([3.0, 1.0, 2.0, 1.0, 4.0, 1.0, 2.0, 1.0])
    objective = bgnbd_objective(x, rec, age, w)
    log_params = np.log([0.8, 0.05, 0.9, 2.0])
    value, grad = objective(log_params, 0.01)
    assert value == pytest.approx(BetaGeoFitter._negative_log_likelihood(log_params, x, rec, age, w, 0.01), rel=1e-12)
    assert np.allclose(grad, _central_grad(lambda p: objective(p, 0.01)[0], log_params), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("model_type", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize("penalizer", [0.0, 0.01, 0.1])
def test_frequency_models_do_not_depend_on_the_time_unit(
    cdnow: pd.DataFrame, model_type: str, penalizer: float
) -> None:
    """Weeks or days: time is scaled to the oldest customer before the penalty, so predictions agree."""
    weeks = make_frequency_model(model_type, penalizer).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    days = make_frequency_model(model_type, penalizer).fit(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    assert days.params_["alpha"] == pytest.approx(weeks.params_["alpha"] * 7, rel=1e-5)
    in_weeks = weeks.expected_purchases(39, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    in_days = days.expected_purchases(273, cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    np.testing.assert_allclose(in_days, in_weeks, rtol=1e-5)
