"""CLV: equal to lifetimes' customer_lifetime_value on the same inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

from gda_clv.models.clv import customer_lifetime_value, periods_per_month
from gda_clv.models.frequency import make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary_data_with_monetary_value()


@pytest.fixture(scope="module")
def gg(cdnow: pd.DataFrame) -> GammaGammaModel:
    rep = cdnow[cdnow["frequency"] > 0]
    return GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])


@pytest.mark.parametrize("model_type", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize(("freq", "months", "rate"), [("W", 12, 0.01), ("D", 6, 0.0), ("M", 3, 0.05)])
def test_equals_lifetimes(cdnow, gg, model_type: str, freq: str, months: int, rate: float) -> None:
    freq_model = make_frequency_model(model_type).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ref = gg.to_lifetimes().customer_lifetime_value(
        freq_model.to_lifetimes(), cdnow["frequency"], cdnow["recency"], cdnow["T"], cdnow["monetary_value"],
        time=months, discount_rate=rate, freq=freq,
    )
    ours = customer_lifetime_value(freq_model, gg, cdnow["frequency"], cdnow["recency"], cdnow["T"],
                                   cdnow["monetary_value"], months, rate, freq=freq)
    assert isinstance(ours, np.ndarray) and len(ours) == len(cdnow)
    assert np.max(np.abs(ours / ref.to_numpy() - 1)) < 1e-6


def test_multiplier_divides_periods_per_month() -> None:
    assert periods_per_month("D", 7) == pytest.approx(30 / 7)
    assert periods_per_month("W") == 4.345


def test_unknown_freq_names_the_argument() -> None:
    with pytest.raises(ValueError) as err:
        periods_per_month("Y")
    assert str(err.value) == "freq must be one of W, M, D, H for CLV, got 'Y'"
