"""Our Spark RFM features against lifetimes.utils, row by row, on a CDNOW subset and on a random log."""
from __future__ import annotations

import datetime as dt
import importlib.resources

import numpy as np
import pandas as pd
import pytest

from gda_clv.data import rfm

lifetimes_utils = pytest.importorskip("lifetimes.utils")

COLS = ["customer_id", "transaction_date", "amount"]
CDNOW_CUSTOMERS = 1500


def _cdnow_subset() -> pd.DataFrame:
    path = importlib.resources.files("lifetimes.datasets") / "CDNOW_master.txt"
    df = pd.read_csv(
        str(path), sep=r"\s+", header=0, names=["customer_id", "date", "n", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    df = df[df["customer_id"].astype(int) <= CDNOW_CUSTOMERS]
    df = df[df["amount"] > 0]
    df["transaction_date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df[COLS].reset_index(drop=True)


def _random_log(seed: int = 7, customers: int = 300) -> pd.DataFrame:
    """Bursty purchases: several per day and per week, one-time buyers, late first purchases."""
    rng = np.random.default_rng(seed)
    counts = rng.geometric(0.25, size=customers)
    ids = np.repeat(np.arange(customers), counts)
    starts = rng.integers(0, 400, size=customers)
    offsets = np.concatenate([np.sort(rng.integers(0, 200, size=c)) for c in counts])
    dates = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.repeat(starts, counts) + offsets, unit="D")
    amounts = np.round(rng.gamma(2.0, 15.0, size=len(ids)) + 0.01, 2)
    return pd.DataFrame({"customer_id": [f"c{i:04d}" for i in ids], "transaction_date": dates, "amount": amounts})


def _generated_log() -> pd.DataFrame:
    """gda_clv's own BG/NBD + Gamma-Gamma generator, CDNOW-like parameters (rates per day)."""
    from gda_clv.data.synthetic import generate_transactions

    params = {"r": 0.24, "alpha": 30.9, "a": 0.79, "b": 2.43, "p": 6.25, "q": 3.74, "v": 15.44}
    return generate_transactions(800, params, "2022-01-01", "2023-06-30", seed=3)


DATASETS = {
    "cdnow": (_cdnow_subset, dt.date(1997, 9, 30), dt.date(1998, 6, 30)),
    "random": (_random_log, dt.date(2020, 10, 31), dt.date(2021, 6, 30)),
    "generated": (_generated_log, dt.date(2022, 12, 31), dt.date(2023, 6, 30)),
}


def _month_ordinal(dates: pd.Series) -> pd.Series:
    """Map each date to a fake day whose day count is its month index, so lifetimes' 'D' counts whole months."""
    months = dates.dt.year * 12 + dates.dt.month - 1
    return pd.Timestamp("1970-01-01") + pd.to_timedelta(months, unit="D")


def _lifetimes(log: pd.DataFrame, cal_end: dt.date, obs_end: dt.date, freq: str, mult: int):
    """lifetimes' calibration/holdout and full summary; for M through month-ordinal days (month-end cut-offs).

    lifetimes divides by np.timedelta64(1, "M"), which pandas >= 2 rejects; mapping every date to the fake day
    numbered by its month makes lifetimes' own daily code count whole months, which is our definition for M.
    """
    if freq == "M":
        assert (pd.Timestamp(cal_end) + pd.Timedelta(days=1)).day == 1, "M parity needs month-end cut-offs"
        log = log.assign(transaction_date=_month_ordinal(log["transaction_date"]))
        cal_end, obs_end = (_month_ordinal(pd.Series(pd.to_datetime([d])))[0] for d in (cal_end, obs_end))
        freq = "D"
    kwargs = dict(freq=freq, freq_multiplier=mult, monetary_value_col="amount")
    cal = lifetimes_utils.calibration_and_holdout_data(
        log, "customer_id", "transaction_date", calibration_period_end=cal_end, observation_period_end=obs_end,
        **kwargs,
    )
    full = lifetimes_utils.summary_data_from_transaction_data(
        log, "customer_id", "transaction_date", observation_period_end=obs_end, **kwargs
    )
    return cal, full


def _collapse_periods(log: pd.DataFrame, cal_end: dt.date, freq: str) -> pd.DataFrame:
    """One row per (customer, period, side of calibration end): lifetimes' raw-row mean becomes per-period."""
    period = log["transaction_date"].dt.to_period(freq)
    side = log["transaction_date"] > pd.Timestamp(cal_end)
    grouped = log.groupby([log["customer_id"], period.rename("p"), side.rename("s")], sort=False)
    return grouped.agg(transaction_date=("transaction_date", "min"), amount=("amount", "sum")).reset_index()[COLS]


CASES = [("D", 1), ("D", 7), ("W", 1), ("W", 4), ("M", 1), ("M", 3)]
PARITY = [(name, *case) for name in ("cdnow", "random") for case in CASES]
PARITY += [("generated", "D", 7), ("generated", "W", 1), ("generated", "M", 1)]


@pytest.fixture(scope="module")
def logs() -> dict[str, pd.DataFrame]:
    return {name: loader() for name, (loader, _, _) in DATASETS.items()}


@pytest.mark.parametrize(("dataset", "freq", "mult"), PARITY)
def test_features_match_lifetimes_row_by_row(spark, logs, dataset: str, freq: str, mult: int) -> None:
    log = logs[dataset]
    _, cal_end, obs_end = DATASETS[dataset]
    frame = spark.createDataFrame(log.assign(transaction_date=log["transaction_date"].dt.date))
    ours = rfm.rfm_features(frame, cal_end, obs_end, freq, mult).toPandas().set_index("customer_id").sort_index()
    assert (ours["as_of"] == obs_end).all()

    ref_cal, ref_full = _lifetimes(log, cal_end, obs_end, freq, mult)
    full_cols = list(rfm.SUMMARY_COLUMNS)
    pd.testing.assert_frame_equal(ours[full_cols], ref_full[full_cols].sort_index(), check_names=False, rtol=1e-9)

    cal_cols = [c for c in rfm.CAL_HOLDOUT_COLUMNS if c != "monetary_value_holdout"]
    in_cal = ours[ours["T_cal"].notna()]
    assert len(in_cal) == len(ref_cal)
    pd.testing.assert_frame_equal(in_cal[cal_cols], ref_cal[cal_cols].sort_index(), check_names=False, rtol=1e-9)

    per_period_cal, _ = _lifetimes(_collapse_periods(log, cal_end, freq), cal_end, obs_end, freq, mult)
    pd.testing.assert_series_equal(
        in_cal["monetary_value_holdout"], per_period_cal["monetary_value_holdout"].sort_index(),
        check_names=False, rtol=1e-9,
    )
    not_in_cal = ours[ours["T_cal"].isna()]
    assert len(not_in_cal) == len(ours) - len(ref_cal)
    assert dataset != "random" or not not_in_cal.empty  # CDNOW's cohort all bought first in Q1 1997
    assert not_in_cal[list(rfm.CAL_HOLDOUT_COLUMNS)].isna().all().all()


def test_lifetimes_rejects_month_unit_on_this_pandas(logs) -> None:
    """Why M is computed as whole months: lifetimes' own M path fails on pandas >= 2."""
    if int(pd.__version__.split(".")[0]) < 2:
        pytest.skip("pandas 1.x converts the month unit to 30.436875 days instead")
    with pytest.raises(ValueError, match="Unit M is not supported"):
        lifetimes_utils.summary_data_from_transaction_data(logs["random"], "customer_id", "transaction_date", freq="M")


def test_lifetimes_holdout_monetary_averages_rows_we_average_periods(spark) -> None:
    """Two holdout purchases on one day: lifetimes gives the row mean, we give the per-period mean."""
    log = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a"],
        "transaction_date": pd.to_datetime(["2021-01-01", "2021-01-05", "2021-02-01", "2021-02-01"]),
        "amount": [10.0, 20.0, 30.0, 50.0],
    })
    cal_end, obs_end = dt.date(2021, 1, 31), dt.date(2021, 3, 1)
    ref, _ = _lifetimes(log, cal_end, obs_end, "D", 1)
    assert ref.loc["a", "monetary_value_holdout"] == 40.0
    frame = spark.createDataFrame(log.assign(transaction_date=log["transaction_date"].dt.date))
    ours = rfm.calibration_and_holdout(frame, cal_end, obs_end, "D", 1).first()
    assert ours["frequency_holdout"] == 1.0
    assert ours["monetary_value_holdout"] == 80.0
