"""The literature's numbers from the literature's data: CDNOW transactions -> our Spark preparation -> our fits.

lifetimes ships the 2,357-customer CDNOW sample as a raw transaction log (CDNOW_sample.txt). Prepared as Fader,
Hardie & Lee (2005) did (calibration 1997-01-01..1997-09-30, weeks counted in days / 7, $0 orders are purchases),
our features reproduce Hardie's published summary and our fits the published BG/NBD and Gamma-Gamma estimates.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from gda_clv.data import rfm
from gda_clv.data import transactions as tx
from gda_clv.models.frequency import make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.pipelines.prepare import lifetimes_cdnow_path

CALIBRATION_END, OBSERVATION_END = dt.date(1997, 9, 30), dt.date(1998, 6, 30)


@pytest.fixture(scope="module")
def calibration(spark: SparkSession) -> pd.DataFrame:
    sample = lifetimes_cdnow_path().with_name("CDNOW_sample.txt")
    # Columns: master id, sample id (the ID of the published summary), date, number of CDs, dollar value.
    log = pd.read_csv(sample, sep=r"\s+", header=None, names=["master_id", "customer_id", "date", "cds", "amount"])
    raw = spark.createDataFrame(log[["customer_id", "date", "amount"]].astype(str))
    mapping = tx.ColumnMapping(transaction_date="date")
    valid = tx.validate_transactions(raw, mapping, "yyyyMMdd", OBSERVATION_END, keep_zero_amounts=True)
    assert valid.quarantined.count() == 0
    features = rfm.calibration_and_holdout(valid.clean, CALIBRATION_END, OBSERVATION_END, "D", 7)
    return features.toPandas().assign(customer_id=lambda d: d["customer_id"].astype(int)).set_index("customer_id")


def test_features_equal_hardies_published_summary(calibration: pd.DataFrame) -> None:
    published = pd.read_csv(lifetimes_cdnow_path().with_name("cdnow_customers_summary_with_transactions.csv"))
    published = published.set_index("ID").sort_index()
    ours = calibration.sort_index()
    assert len(ours) == len(published) == 2357
    assert (ours["frequency_cal"].to_numpy() == published["x"].to_numpy()).all()
    # The published file rounds t_x and T to two decimals.
    assert (ours["recency_cal"] - published["t_x"]).abs().max() < 0.006
    assert (ours["T_cal"] - published["T"]).abs().max() < 0.006


def test_fits_reproduce_the_published_estimates(calibration: pd.DataFrame) -> None:
    d = calibration
    bgnbd = make_frequency_model("bgnbd", 0.0).fit(d["frequency_cal"], d["recency_cal"], d["T_cal"])
    # Fader, Hardie & Lee (2005), table 1: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    assert bgnbd.params_ == pytest.approx({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, abs=1e-3)
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)

    repeat = d[d["frequency_cal"] > 0]
    gamma_gamma = GammaGammaModel(q_constraint=False).fit(repeat["frequency_cal"], repeat["monetary_value_cal"])
    # Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": p = 6.25, q = 3.74, gamma = 15.44.
    assert gamma_gamma.params_ == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, abs=0.01)


def test_cli_run_on_the_raw_sample_reproduces_the_published_estimates(tmp_path: Path) -> None:
    """`gda-clv run` on the raw sample log (every row, repeated ones too, is a purchase) with penalizers 0."""
    sample = lifetimes_cdnow_path().with_name("CDNOW_sample.txt")
    log = pd.read_csv(sample, sep=r"\s+", header=None, names=["master_id", "customer_id", "date", "cds", "amount"],
                      dtype=str)
    assert log.duplicated(["customer_id", "date", "amount"]).sum() == 21  # the rows a dropDuplicates would lose
    csv = tmp_path / "sample.csv"
    log[["customer_id", "date", "amount"]].to_csv(csv, index=False)
    out = tmp_path / "summary.json"
    settings = [
        f"runtime.state_dir={tmp_path / 'state'}", "data.source.format=csv", f"data.source.path={csv}",
        "data.source.date_format=yyyyMMdd", "data.source.columns={customer_id: customer_id, transaction_date: date, "
        "amount: amount}", "model.frequency.penalizer=0", "model.frequency.tuning.max_evals=0",
        "model.monetary.penalizer=0", "model.monetary.tuning.max_evals=0", "model.monetary.q_constraint=false",
        "data.keep_zero_amounts=true",  # the literature's CDNOW counts its 8 $0 orders as purchases
    ]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("gda-clv")), "run", "--env", "local", "--summary-json", str(out),
         *[arg for setting in settings for arg in ("--set", setting)]],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert summary["prepare"]["transactions"] == len(log)
    bgnbd = summary["train_frequency"]["calibration_fit"]["params"]
    assert bgnbd == pytest.approx({"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}, rel=1e-4)
    gamma_gamma = summary["train_monetary"]["calibration_fit"]["params"]
    assert gamma_gamma == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, abs=0.005)
