"""Benchmark data from gda_clv's own generator (BG/NBD + Gamma-Gamma), cached as Parquet under .gda_clv/bench/.

One fixed window and parameter set for every benchmark: CDNOW-like BG/NBD estimates (Fader, Hardie & Lee 2005,
converted from weeks to days) and Gamma-Gamma estimates (Fader & Hardie 2013), two years of transactions with
customers acquired over the first year. The calibration end leaves the pipeline's default 273-day holdout.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gda_clv.data.synthetic import customers_for_transactions, generate_transactions

PARAMS = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.44}
START = dt.date(2022, 1, 1)
END = dt.date(2023, 12, 31)
ACQUISITION_END = dt.date(2022, 12, 31)
HOLDOUT_DAYS = 273
CALIBRATION_END = END - dt.timedelta(days=HOLDOUT_DAYS)
FREQ, FREQ_MULTIPLIER = "D", 7  # the pipeline's defaults: daily periods, recency and T in weeks
CHUNK_CUSTOMERS = 1_000_000  # generate big sets in chunks so memory stays bounded


@dataclass(frozen=True)
class TransactionSet:
    """A Parquet transaction log (customer_id string, transaction_date date, amount double) and its size."""

    path: Path
    n_transactions: int
    n_customers: int


def _chunks(n_customers: int) -> list[tuple[int, int]]:
    """(chunk index, customers in it) so that no chunk exceeds CHUNK_CUSTOMERS."""
    full, rest = divmod(n_customers, CHUNK_CUSTOMERS)
    return [(i, CHUNK_CUSTOMERS) for i in range(full)] + ([(full, rest)] if rest else [])


def _chunk_frame(index: int, n: int, seed: int) -> pd.DataFrame:
    return generate_transactions(
        n, PARAMS, START, END, seed=seed * 1000 + index, acquisition_end=ACQUISITION_END, id_prefix=f"C{index}_"
    )


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.table({
        "customer_id": pa.array(df["customer_id"].to_numpy(), type=pa.string()),
        "transaction_date": pa.array(df["transaction_date"].to_numpy().astype("datetime64[D]"), type=pa.date32()),
        "amount": pa.array(df["amount"].to_numpy(), type=pa.float64()),
    })


def transactions(n_transactions: int, cache_dir: Path, seed: int = 7) -> TransactionSet:
    """About ``n_transactions`` rows (the customer count is sized by a pilot draw), written once and reused."""
    n_customers = customers_for_transactions(n_transactions, PARAMS, START, END, seed=seed,
                                             acquisition_end=ACQUISITION_END)
    path = Path(cache_dir) / f"transactions_{n_transactions}_s{seed}.parquet"
    if not path.exists():
        _write_log(path, n_customers, seed, "parquet")
    return TransactionSet(path=path, n_transactions=pq.ParquetFile(path).metadata.num_rows, n_customers=n_customers)


def customer_log(n_customers: int, cache_dir: Path, seed: int = 7) -> TransactionSet:
    """The transactions of ``n_customers`` customers as a CSV file with a header (what a user exports), cached."""
    path = Path(cache_dir) / f"customers_{n_customers}_s{seed}.csv"
    if not path.exists():
        _write_log(path, n_customers, seed, "csv")
    with open(path, "rb") as f:
        rows = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) - 1
    return TransactionSet(path=path, n_transactions=rows, n_customers=n_customers)


def _write_log(path: Path, n_customers: int, seed: int, fmt: str) -> None:
    """Generate ``n_customers`` chunk by chunk into ``path`` (Parquet or CSV), atomically."""
    from pyarrow import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    schema = _arrow(_chunk_frame(0, 1, seed)).schema
    writer = pq.ParquetWriter(tmp, schema) if fmt == "parquet" else csv.CSVWriter(tmp, schema)
    with writer:
        for index, n in _chunks(n_customers):
            writer.write_table(_arrow(_chunk_frame(index, n, seed)), **({"row_group_size": 1_000_000}
                                                                       if fmt == "parquet" else {}))
    tmp.replace(path)


def _daily_summary(df: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Per customer in days (lifetimes' summary_data_from_transaction_data with freq D): frequency, recency, T,
    monetary_value (mean of per-day totals after the first day)."""
    codes, _ = pd.factorize(df["customer_id"], sort=False)
    day = (df["transaction_date"].to_numpy().astype("datetime64[D]") - np.datetime64(START, "D")).astype(np.int64)
    per_day = pd.DataFrame({"c": codes, "d": day, "amt": df["amount"].to_numpy()}).groupby(["c", "d"], sort=True)
    totals = per_day["amt"].sum().reset_index()
    grouped = totals.groupby("c", sort=True)
    first_day, last_day, n_days = grouped["d"].min(), grouped["d"].max(), grouped["d"].size()
    first_amount = grouped["amt"].first()
    repeat_sum = grouped["amt"].sum() - first_amount
    frequency = (n_days - 1).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_sum.to_numpy() / frequency, 0.0)
    end_day = (np.datetime64(end, "D") - np.datetime64(START, "D")).astype(np.int64)
    return pd.DataFrame({
        "frequency": frequency,
        "recency": (last_day - first_day).to_numpy(dtype=float),
        "T": (end_day - first_day).to_numpy(dtype=float),
        "monetary_value": monetary,
    })


def customers(n_customers: int, cache_dir: Path, seed: int = 11) -> pd.DataFrame:
    """``n_customers`` rows of (frequency, recency, T, monetary_value) in days at END, drawn chunk by chunk."""
    path = Path(cache_dir) / f"customers_{n_customers}_s{seed}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    parts = [_daily_summary(_chunk_frame(index, n, seed), END) for index, n in _chunks(n_customers)]
    out = pd.concat(parts, ignore_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").replace(path)
    return out
