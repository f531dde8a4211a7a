"""Calibration/holdout features of a seeded synthetic log, the frame the tuning tests search over."""
from __future__ import annotations

import pandas as pd
from lifetimes.utils import calibration_and_holdout_data

from gda_clv.data.synthetic import generate_transactions

PARAMS = {"r": 0.5, "alpha": 10.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 3.8, "v": 15.0}
KEYS = ["frequency_cal", "recency_cal", "T_cal", "duration_holdout", "frequency_holdout"]


def cal_holdout_features(n_customers: int, seed: int) -> pd.DataFrame:
    """lifetimes' weekly calibration (to 2020-09-30) and holdout (to 2020-12-31) frame of ``n_customers``."""
    tx = generate_transactions(n_customers, PARAMS, "2020-01-01", "2020-12-31", seed=seed,
                               acquisition_end="2020-03-31")
    return calibration_and_holdout_data(tx, "customer_id", "transaction_date", calibration_period_end="2020-09-30",
                                        observation_period_end="2020-12-31", freq="W", monetary_value_col="amount")
