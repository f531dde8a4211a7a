"""Spark scoring against lifetimes on the CDNOW summary (published BG/NBD and Gamma-Gamma parameters)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gda_clv.data import scoring
from gda_clv.data.scoring import ModelRef, ScoringSpec
from gda_clv.errors import DataError
from gda_clv.models._lifetimes import lifetimes, quiet
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel

# Fader, Hardie & Lee (2005) and Fader & Hardie (2013) estimates on CDNOW (weeks).
BGNBD = {"r": 0.242594, "alpha": 4.413595, "a": 0.792919, "b": 2.425889}
GG = {"p": 6.248802, "q": 3.744588, "v": 15.447748}
AS_OF = dt.date(1998, 6, 30)
FREQ_REF = ModelRef("clv_frequency", "3", "run-f")
MON_REF = ModelRef("clv_monetary", "2", "run-m")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    with quiet():
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

        data = load_cdnow_summary_data_with_monetary_value().reset_index()
    data["customer_id"] = data["customer_id"].astype(str)
    data["as_of"] = AS_OF
    return data


@pytest.fixture(scope="module")
def models() -> tuple[FrequencyModel, GammaGammaModel]:
    return (
        FrequencyModel.from_dict({"type": "bgnbd", "params": BGNBD}),
        GammaGammaModel.from_dict({"type": "gamma_gamma", "params": GG}),
    )


@pytest.fixture(scope="module")
def lifetimes_fitters():
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(BGNBD)
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # what lifetimes' fit() sets
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series(GG)
    return bgf, ggf


@pytest.fixture(scope="module")
def scored(spark, cdnow, models) -> pd.DataFrame:
    features = spark.createDataFrame(cdnow[["customer_id", "as_of", "frequency", "recency", "T", "monetary_value"]])
    spec = ScoringSpec(horizons_days=(30, 90, 365), horizon_months=12, discount_rate=0.01, freq="W", month_days=None)
    out = scoring.score_customers(features, *models, spec, FREQ_REF, MON_REF).frame
    return out.toPandas().sort_values("customer_id").set_index("customer_id")


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def test_one_row_per_customer_with_model_versions(scored, cdnow) -> None:
    assert len(scored) == len(cdnow) == 2357
    assert scored.index.is_unique
    assert list(scored.columns) == [
        "as_of", "frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases_30d",
        "expected_purchases_90d", "expected_purchases_365d", "expected_avg_spend", "clv",
        "frequency_model_name", "frequency_model_version", "monetary_model_name", "monetary_model_version",
    ]
    assert set(scored["as_of"]) == {AS_OF}
    assert set(scored["frequency_model_version"]) == {"3"} and set(scored["monetary_model_name"]) == {"clv_monetary"}


def test_clv_equals_lifetimes(scored, cdnow, lifetimes_fitters) -> None:
    bgf, ggf = lifetimes_fitters
    d = cdnow.set_index("customer_id").loc[scored.index]
    with quiet():
        expected = ggf.customer_lifetime_value(
            bgf, d["frequency"], d["recency"], d["T"], d["monetary_value"], time=12, discount_rate=0.01, freq="W"
        )
    assert _rel(scored["clv"].to_numpy(), expected.to_numpy()) < 1e-6
    assert scored["clv"].sum() == pytest.approx(expected.sum(), rel=1e-9)


def test_p_alive_purchases_and_spend_equal_lifetimes(scored, cdnow, lifetimes_fitters) -> None:
    bgf, ggf = lifetimes_fitters
    d = cdnow.set_index("customer_id").loc[scored.index]
    f, r, t, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    with quiet():
        alive = bgf.conditional_probability_alive(f, r, t)
        spend = ggf.conditional_expected_average_profit(f, m)
        for days in (30, 90, 365):
            purchases = bgf.conditional_expected_number_of_purchases_up_to_time(days / 7, f, r, t)
            assert _rel(scored[f"expected_purchases_{days}d"].to_numpy(), np.asarray(purchases)) < 1e-9
    assert _rel(scored["p_alive"].to_numpy(), np.asarray(alive)) < 1e-9
    assert _rel(scored["expected_avg_spend"].to_numpy(), np.asarray(spend)) < 1e-9


def test_one_time_buyers_get_population_mean_spend(scored) -> None:
    population_mean = GG["p"] * GG["v"] / (GG["q"] - 1)
    one_timers = scored[scored["frequency"] == 0]
    assert len(one_timers) == 1411
    assert np.allclose(one_timers["expected_avg_spend"], population_mean, rtol=1e-12)


def test_identical_inputs_are_scored_once_and_spend_is_each_customers_own(spark, models, capsys) -> None:
    """6 customers, 2 distinct (frequency, recency, T): the model scores 2 tuples, the scores are joined back and
    each customer's spend follows its own monetary value; no Python worker (mapInPandas) is in the plan."""
    rows = [(f"c{i}", AS_OF, 2.0, 10.0, 30.0, 25.0) for i in range(3)] + [
        ("e0", AS_OF, 2.0, 10.0, 30.0, 50.0), *[(f"d{i}", AS_OF, 0.0, 0.0, 30.0, 0.0) for i in range(2)]
    ]
    features = spark.createDataFrame(rows, "customer_id string, as_of date, frequency double, recency double, "
                                           "T double, monetary_value double")
    result = scoring.score_customers(features, *models, ScoringSpec(freq="W"), FREQ_REF, MON_REF)
    assert (result.customers, result.distinct_tuples) == (6, 2)
    result.frame.explain()
    assert "MapInPandas" not in capsys.readouterr().out
    by_id = {r.customer_id: r for r in result.frame.collect()}
    assert len(by_id) == 6
    assert by_id["c0"].clv == by_id["c1"].clv == by_id["c2"].clv > by_id["d0"].clv == by_id["d1"].clv > 0
    assert by_id["e0"].p_alive == by_id["c0"].p_alive and by_id["e0"].clv > by_id["c0"].clv
    spend = models[1].expected_average_spend(np.array([2.0, 2.0]), np.array([25.0, 50.0]))
    assert [by_id["c0"].expected_avg_spend, by_id["e0"].expected_avg_spend] == list(spend)


def test_days_become_model_periods() -> None:
    assert ScoringSpec(freq="D", freq_multiplier=7).periods(14) == 2.0
    assert ScoringSpec(freq="W").periods(14) == 2.0
    assert ScoringSpec(freq="M").periods(365.25) == pytest.approx(12.0)


def test_value_tiers_follow_quantiles(spark, scored) -> None:
    spec = ScoringSpec(horizons_days=())
    values = {c: [1.0] * 100 for c in scoring.score_columns(spec)}
    frame = spark.createDataFrame(pd.DataFrame({**values, "clv": [float(i) for i in range(1, 101)]}))
    thresholds = scoring.checked_thresholds(frame, spec, [0.5, 0.8, 0.95])
    assert thresholds == [50.0, 80.0, 95.0]
    assert scoring.checked_thresholds(frame, spec, []) == []
    tiers = scoring.assign_value_tiers(frame, thresholds, ["low", "medium", "high", "top"]).toPandas()
    counts = tiers["value_tier"].value_counts().to_dict()
    assert counts == {"low": 50, "medium": 30, "high": 15, "top": 5}
    assert tiers.loc[tiers["clv"] == 95.0, "value_tier"].item() == "high"
    assert tiers.loc[tiers["clv"] == 96.0, "value_tier"].item() == "top"


def test_tier_labels_must_match_quantiles(spark) -> None:
    frame = spark.createDataFrame([(1.0,)], "clv double")
    with pytest.raises(ValueError) as err:
        scoring.assign_value_tiers(frame, [0.5], ["low", "mid", "high"])
    assert str(err.value) == "labels needs one more entry than thresholds (1 thresholds, 3 labels)"


def test_missing_feature_columns_are_named(spark, models) -> None:
    frame = spark.createDataFrame([("c1", 1.0)], "customer_id string, frequency double")
    with pytest.raises(DataError) as err:
        scoring.score_customers(frame, *models, ScoringSpec(), FREQ_REF, MON_REF)
    assert str(err.value) == (
        "The feature table lacks columns ['as_of', 'recency', 'T', 'monetary_value'] needed for scoring; it needs "
        "customer_id, as_of, frequency, recency, T, monetary_value (run the prepare step to rebuild it)."
    )


def test_bad_spec_values_are_refused() -> None:
    with pytest.raises(ValueError) as err:
        ScoringSpec(freq="H")
    assert str(err.value) == "freq must be one of D, W, M, got 'H'"
    with pytest.raises(ValueError) as err:
        ScoringSpec(horizons_days=(30, 0))
    assert str(err.value) == "horizons_days must be positive numbers of days, got [30, 0]"


def test_extreme_histories_get_finite_scores(spark) -> None:
    """Hundreds of purchases at a tiny T (MBG/NBD) and a > 1 at a long horizon (BG/NBD) overflow hyp2f1."""
    features = spark.createDataFrame(
        [("a", AS_OF, 500.0, 0.9, 1.0, 20.0), ("b", AS_OF, 1.0, 0.5, 1.0, 20.0), ("c", AS_OF, 0.0, 0.0, 1.0, 0.0)],
        "customer_id string, as_of date, frequency double, recency double, T double, monetary_value double",
    )
    spec = ScoringSpec(horizons_days=(30, 36500), horizon_months=12, discount_rate=0.01, freq="D")
    gg = GammaGammaModel.from_dict({"type": "gamma_gamma", "params": GG})
    for frequency_model in (
        FrequencyModel.from_dict({"type": "mbgnbd", "params": {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}}),
        FrequencyModel.from_dict({"type": "bgnbd", "params": {"r": 2.0, "alpha": 0.1, "a": 3.0, "b": 0.1}}),
    ):
        scored = scoring.score_customers(features, frequency_model, gg, spec, FREQ_REF, MON_REF).frame
        scoring.checked_thresholds(scored, spec, [0.5])
        values = scored.toPandas()[scoring.score_columns(spec)].to_numpy(float)
        assert np.isfinite(values).all(), frequency_model


def test_non_finite_scores_fail_with_the_inputs_named(spark, models) -> None:
    features = spark.createDataFrame(
        [("a", AS_OF, 0.0, 0.0, 10.0, 0.0), ("b", AS_OF, 2.0, 5.0, 10.0, 30.0)],
        "customer_id string, as_of date, frequency double, recency double, T double, monetary_value double",
    )
    on_bound = GammaGammaModel.from_dict({"type": "gamma_gamma", "params": {"p": 6.0, "q": 1.0, "v": 15.0}})
    spec = ScoringSpec(horizons_days=(30,), freq="W")
    scored = scoring.score_customers(features, models[0], on_bound, spec, FREQ_REF, MON_REF).frame
    with pytest.raises(DataError) as err:
        scoring.checked_thresholds(scored, spec, [0.5, 0.9])
    message = str(err.value)  # q = 1: p*v/(q-1) is infinite, and 0 * inf is NaN for the repeat buyer
    assert message.startswith("2 customers got non-finite scores, e.g. ")
    assert "frequency=0.0, recency=0.0, T=10.0, monetary_value=0.0 -> expected_avg_spend, clv" in message
    assert "frequency=2.0, recency=5.0, T=10.0, monetary_value=30.0 -> expected_avg_spend, clv" in message


def test_the_clv_month_is_a_twelfth_of_the_year_of_the_day_horizons(spark, cdnow, models) -> None:
    """Default (projection.month calendar): 12 CLV months undiscounted = expected purchases in 365.25 days x spend."""
    features = spark.createDataFrame(cdnow[["customer_id", "as_of", "frequency", "recency", "T", "monetary_value"]])
    spec = ScoringSpec(horizons_days=(365,), horizon_months=12, discount_rate=0.0, freq="W")
    out = scoring.score_customers(features, *models, spec, FREQ_REF, MON_REF).frame.toPandas()
    bgnbd = models[0]
    year = bgnbd.expected_purchases(365.25 / 7, out["frequency"], out["recency"], out["T"])
    np.testing.assert_allclose(out["clv"], year * out["expected_avg_spend"], rtol=1e-9)
    assert scoring.horizon_units(spec)["clv"] == (
        "expected spend over the next 12 months of 30.4375 days, discounted by 0 per month")
    lifetimes_month = ScoringSpec(horizons_days=(365,), discount_rate=0.0, freq="W", month_days=None)
    assert "4.345 weeks" in scoring.horizon_units(lifetimes_month)["clv"]
