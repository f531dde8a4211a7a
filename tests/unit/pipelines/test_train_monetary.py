"""train_monetary.revenue_check: the grouped totals equal a per-customer computation."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from gda_clv.data import rfm
from gda_clv.data.synthetic import generate_transactions
from gda_clv.models.bgnbd import BetaGeoModel
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.pipelines.train_monetary import revenue_check

PARAMS = {"r": 0.243, "alpha": 30.9, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.44}
START, CAL_END, END = dt.date(2022, 1, 1), dt.date(2023, 4, 1), dt.date(2023, 12, 31)


def test_revenue_check_equals_per_customer_scoring(spark) -> None:
    tx = generate_transactions(600, PARAMS, START, END, seed=3, acquisition_end=dt.date(2023, 6, 30))
    frame = spark.createDataFrame(tx.assign(transaction_date=tx["transaction_date"].dt.date))
    features = rfm.rfm_features(frame, CAL_END, END, "D", 7)
    rows = features.toPandas()
    cal = rows[rows["T_cal"].notna()]
    assert 0 < len(cal) < len(rows)  # customers acquired after the calibration end are not checked
    bg = BetaGeoModel().fit(cal["frequency_cal"], cal["recency_cal"], cal["T_cal"], np.ones(len(cal)))
    repeat = cal[(cal["frequency_cal"] > 0) & (cal["monetary_value_cal"] > 0)]
    gg = GammaGammaModel().fit(repeat["frequency_cal"], repeat["monetary_value_cal"])

    got = revenue_check(features, bg, gg)

    f, m = cal["frequency_cal"].to_numpy(), cal["monetary_value_cal"].to_numpy()
    predicted = bg.expected_purchases(cal["duration_holdout"], f, cal["recency_cal"], cal["T_cal"]) * \
        gg.expected_average_spend(f, m)
    actual = (cal["frequency_holdout"] * cal["monetary_value_holdout"]).to_numpy()
    assert got["holdout_revenue_customers"] == len(cal)
    assert got["holdout_revenue_actual_total"] == pytest.approx(actual.sum(), rel=1e-12)
    assert got["holdout_revenue_predicted_total"] == pytest.approx(predicted.sum(), rel=1e-9)
    rmse = math.sqrt(np.mean((predicted - actual) ** 2))
    assert got["holdout_revenue_rmse_per_customer"] == pytest.approx(rmse, rel=1e-9)
