"""Synthetic BG/NBD + Gamma-Gamma transaction logs: layout, determinism, parameter recovery."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import summary_data_from_transaction_data

from gda_clv.data.synthetic import customers_for_transactions, generate_transactions
from gda_clv.errors import ConfigError
from gda_clv.models.frequency import make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel

PARAMS = {"r": 0.5, "alpha": 20.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 3.8, "v": 15.0}


def test_layout_and_determinism() -> None:
    one = generate_transactions(300, PARAMS, "2020-01-01", "2020-12-31", seed=3)
    two = generate_transactions(300, PARAMS, "2020-01-01", "2020-12-31", seed=3)
    pd.testing.assert_frame_equal(one, two)
    assert list(one.columns) == ["customer_id", "transaction_date", "amount"]
    assert one["customer_id"].nunique() == 300 and one["customer_id"].iloc[0] == "C000"
    assert one["transaction_date"].min() >= pd.Timestamp("2020-01-01")
    assert one["transaction_date"].max() <= pd.Timestamp("2020-12-31")
    firsts = one.groupby("customer_id")["transaction_date"].min()
    assert firsts.max() <= pd.Timestamp("2020-07-01")  # acquisition over the first half by default
    assert (one["amount"] > 0).all()
    assert not generate_transactions(300, PARAMS, "2020-01-01", "2020-12-31", seed=4).equals(one)


def test_fit_recovers_the_parameters() -> None:
    tx = generate_transactions(5000, PARAMS, "2020-01-01", "2021-12-31", seed=1)
    summary = summary_data_from_transaction_data(tx, "customer_id", "transaction_date", "amount",
                                                 observation_period_end="2021-12-31")
    freq = make_frequency_model("bgnbd").fit(summary["frequency"], summary["recency"], summary["T"])
    rep = summary[summary["frequency"] > 0]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    # Daily flooring collapses same-day purchases, so allow a little bias on top of sampling error.
    for name in ("r", "alpha", "a", "b"):
        assert freq.params_[name] == pytest.approx(PARAMS[name], rel=0.12), name
    for name in ("p", "q", "v"):
        assert gg.params_[name] == pytest.approx(PARAMS[name], rel=0.25), name
    p, q, v = gg.param_array()
    assert p * v / (q - 1) == pytest.approx(PARAMS["p"] * PARAMS["v"] / (PARAMS["q"] - 1), rel=0.1)


def test_customers_for_transactions_hits_the_target() -> None:
    n = customers_for_transactions(20_000, PARAMS, "2020-01-01", "2021-12-31", seed=2)
    rows = len(generate_transactions(n, PARAMS, "2020-01-01", "2021-12-31", seed=5))
    assert rows == pytest.approx(20_000, rel=0.05)


def test_missing_parameter_is_named() -> None:
    with pytest.raises(ConfigError) as err:
        generate_transactions(10, {k: v for k, v in PARAMS.items() if k != "q"}, "2020-01-01", "2020-12-31")
    assert str(err.value) == (
        "Synthetic parameters need positive values for r, alpha, a, b, p, q, v (missing: ['q'], not positive: none)."
    )


def test_repeat_counts_follow_the_bgnbd_law() -> None:
    """Repeat purchases per customer are min(Poisson(lambda T), Geometric(p)) in law (one-day ties aside)."""
    tx = generate_transactions(4000, {**PARAMS, "alpha": 40.0}, "2020-01-01", "2020-12-31", seed=9,
                               acquisition_end="2020-01-01")
    counts = tx.groupby("customer_id").size() - 1
    rng = np.random.default_rng(0)
    lam = rng.gamma(0.5, 1 / 40.0, 4000)
    drop = rng.beta(0.8, 2.5, 4000)
    seq = np.minimum(rng.poisson(lam * 365), rng.geometric(drop))
    assert counts.mean() == pytest.approx(seq.mean(), rel=0.1)
    assert (counts == 0).mean() == pytest.approx((seq == 0).mean(), abs=0.03)


def test_continuous_times_recover_an_unbiased_alpha() -> None:
    """Drawn in continuous time and summarised without rounding, the BG/NBD estimates centre on the truth."""
    params = {**PARAMS, "alpha": 10.0}
    tx = generate_transactions(20_000, params, "2020-01-01", "2021-12-31", seed=7, round_to_days=False)
    assert (tx["transaction_date"] != tx["transaction_date"].dt.floor("D")).mean() > 0.99
    end = pd.Timestamp("2021-12-31")
    days = tx.groupby("customer_id")["transaction_date"].agg(["min", "max", "size"])
    to_days = pd.Timedelta(days=1)
    model = make_frequency_model("bgnbd").fit(days["size"] - 1, (days["max"] - days["min"]) / to_days,
                                              (end - days["min"]) / to_days)
    for name in ("r", "alpha", "a", "b"):
        z = (model.params_[name] - params[name]) / model.standard_errors_[name]
        assert abs(z) < 3, (name, model.params_[name], z)
