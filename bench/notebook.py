"""The notebook a data scientist writes with pandas + lifetimes, the reference of the end-to-end race.

``python -m bench.notebook SOURCE.csv OUT_DIR``: read the CSV, summarise per customer (lifetimes'
summary_data_from_transaction_data), fit BetaGeoFitter and GammaGammaFitter (repeat customers), CLV of every
customer, write ``OUT_DIR/clv.parquet`` and ``OUT_DIR/params.json``. Run as its own process; ``phases`` in the
JSON are its wall seconds per step.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd

from bench.common import race_contestant_args

#: the CLV settings both sides use (lifetimes' 30-day month for freq D, recency and T in days)
HORIZON_MONTHS, DISCOUNT = 12, 0.01


def run(source: Path, out_dir: Path, observation_end: str) -> dict[str, float]:
    """The notebook's steps; returns their wall seconds."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    phases: dict[str, float] = {}
    start = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal start
        now = time.perf_counter()
        phases[name] = round(now - start, 3)
        start = now

    tx = pd.read_csv(source, parse_dates=["transaction_date"])
    lap("read csv")
    rfm = summary_data_from_transaction_data(tx, "customer_id", "transaction_date", "amount",
                                             observation_period_end=pd.Timestamp(observation_end), freq="D")
    lap("summary")
    bgf = BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    lap("fit BG/NBD")
    repeat = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    lap("fit Gamma-Gamma")
    rfm["clv"] = ggf.customer_lifetime_value(bgf, rfm["frequency"], rfm["recency"], rfm["T"], rfm["monetary_value"],
                                             time=HORIZON_MONTHS, discount_rate=DISCOUNT, freq="D")
    lap("CLV")
    out_dir.mkdir(parents=True, exist_ok=True)
    rfm.reset_index().to_parquet(out_dir / "clv.parquet", index=False)
    params = {"frequency": {k: float(v) for k, v in bgf.params_.items()},
              "monetary": {k: float(v) for k, v in ggf.params_.items()}, "phases": phases}
    (out_dir / "params.json").write_text(json.dumps(params, indent=2))
    lap("write")
    return phases


def main(argv: list[str] | None = None) -> int:
    args = race_contestant_args("python -m bench.notebook", __doc__, argv)
    import warnings

    warnings.simplefilter("ignore")  # lifetimes' and pandas' deprecation chatter
    run(args.source, args.out_dir, args.observation_end)
    return 0


if __name__ == "__main__":
    sys.exit(main())
