"""Preparation: Spark calibration/holdout features vs lifetimes.utils.calibration_and_holdout_data vs DuckDB SQL.

Every side reads the same Parquet transaction log and writes its per-customer result to Parquet, so the times
cover read + compute + write. Agreement: Spark vs lifetimes on every column except ``monetary_value_holdout``
(gda_clv averages per-period totals by design, lifetimes raw rows: counted, not asserted), and Spark vs DuckDB
on every column (same definitions).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from bench.common import Row, max_rel_diff, timed, with_ratios
from bench.datasets import CALIBRATION_END, END, FREQ, FREQ_MULTIPLIER, TransactionSet, transactions
from gda_clv.data.rfm import CAL_HOLDOUT_COLUMNS
from gda_clv.models._lifetimes import quiet

EXACT = tuple(c for c in CAL_HOLDOUT_COLUMNS if c != "monetary_value_holdout")
DUCKDB_SQL = """
COPY (
  WITH tx AS (SELECT customer_id, transaction_date AS d, amount FROM read_parquet('{src}')),
  cal_days AS (SELECT customer_id, d, sum(amount) AS amt FROM tx WHERE d <= DATE '{cal}' GROUP BY customer_id, d),
  cal AS (
    SELECT customer_id,
           count(*) - 1 AS frequency_cal,
           date_diff('day', min(d), max(d)) / {k} AS recency_cal,
           date_diff('day', min(d), DATE '{cal}') / {k} AS T_cal,
           coalesce((sum(amt) - arg_min(amt, d)) / nullif(count(*) - 1, 0), 0) AS monetary_value_cal
    FROM cal_days GROUP BY customer_id),
  hold AS (
    SELECT customer_id, count(*) AS frequency_holdout, avg(amt) AS monetary_value_holdout
    FROM (SELECT customer_id, d, sum(amount) AS amt FROM tx
          WHERE d > DATE '{cal}' AND d <= DATE '{end}' GROUP BY customer_id, d)
    GROUP BY customer_id)
  SELECT cal.*, coalesce(frequency_holdout, 0)::DOUBLE AS frequency_holdout,
         coalesce(monetary_value_holdout, 0)::DOUBLE AS monetary_value_holdout,
         {duration}::DOUBLE AS duration_holdout
  FROM cal LEFT JOIN hold USING (customer_id)
) TO '{dst}' (FORMAT parquet)
"""


def run_lifetimes(src: Path, dst: Path) -> None:
    """Read the log with pandas, run lifetimes' calibration_and_holdout_data, write the result."""
    from lifetimes.utils import calibration_and_holdout_data

    df = pq.read_table(src).to_pandas(date_as_object=False)
    with quiet():
        out = calibration_and_holdout_data(
            df, "customer_id", "transaction_date", pd.Timestamp(CALIBRATION_END), pd.Timestamp(END),
            freq=FREQ, freq_multiplier=FREQ_MULTIPLIER, monetary_value_col="amount",
        )
    out.reset_index().to_parquet(dst, index=False)


def run_spark(spark: Any, src: Path, dst: Path) -> None:
    """Read the log with Spark, compute gda_clv.data.rfm.calibration_and_holdout, write Parquet."""
    from gda_clv.data.rfm import calibration_and_holdout

    tx = spark.read.parquet(str(src))
    out = calibration_and_holdout(tx, CALIBRATION_END, END, FREQ, FREQ_MULTIPLIER)
    out.write.mode("overwrite").parquet(str(dst))


def run_duckdb(src: Path, dst: Path, threads: int | None = None) -> None:
    """The same summary as one DuckDB SQL statement (freq D only), Parquet to Parquet."""
    import duckdb

    duration = (END - CALIBRATION_END).days / FREQ_MULTIPLIER
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(DUCKDB_SQL.format(src=src, dst=dst, cal=CALIBRATION_END, end=END, k=float(FREQ_MULTIPLIER),
                                  duration=duration))
    con.close()


def _load(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).set_index("customer_id").sort_index()


def agreement(spark_out: Path, lifetimes_out: Path | None, duckdb_out: Path) -> dict[str, Any]:
    """Row counts and the largest relative differences per column between the three outputs."""
    ours = _load(spark_out)
    duck = _load(duckdb_out).reindex(ours.index)
    result: dict[str, Any] = {
        "customers": len(ours),
        "same_customers_duckdb": bool(len(duck) == len(ours) and not duck.isna().any().any()),
        "max_rel_diff_vs_duckdb": {c: max_rel_diff(ours[c], duck[c]) for c in CAL_HOLDOUT_COLUMNS},
    }
    if lifetimes_out is not None:
        ref = _load(lifetimes_out)
        result["same_customers_lifetimes"] = bool(ref.index.equals(ours.index))
        ref = ref.reindex(ours.index)
        result["max_rel_diff_vs_lifetimes"] = {c: max_rel_diff(ours[c], ref[c]) for c in EXACT}
        differ = ~np.isclose(ours["monetary_value_holdout"], ref["monetary_value_holdout"], rtol=1e-9)
        result["monetary_value_holdout_rows_differing_by_definition"] = int(differ.sum())
    diffs = list(result["max_rel_diff_vs_duckdb"].values()) + list(result.get("max_rel_diff_vs_lifetimes", {}).values())
    result["agree"] = bool(result["same_customers_duckdb"] and result.get("same_customers_lifetimes", True)
                           and max(diffs) < 1e-9)
    return result


def bench_prep(spark: Any, sizes: list[int], work_dir: Path, cache_dir: Path,
               lifetimes_max: int = 10**9, warmup: bool = True) -> list[Row]:
    """Time the three implementations on each size (transactions); with ``warmup`` an untimed Spark run first."""
    rows: list[Row] = []
    out_dir = Path(work_dir) / "prep"
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(sizes):
        data: TransactionSet = transactions(n, cache_dir)
        outs = {k: out_dir / f"{k}_{n}.parquet" for k in ("spark", "lifetimes", "duckdb")}
        for p in outs.values():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        if warmup and i == 0:  # JVM / code-generation warm-up, not timed
            run_spark(spark, data.path, out_dir / "warmup.parquet")
        _, t_spark = timed(run_spark, spark, data.path, outs["spark"])
        _, t_duck = timed(run_duckdb, data.path, outs["duckdb"])
        t_life = None
        if n <= lifetimes_max:
            _, t_life = timed(run_lifetimes, data.path, outs["lifetimes"])
        check = agreement(outs["spark"], outs["lifetimes"] if t_life is not None else None, outs["duckdb"])
        extra = {"customers": data.n_customers, "transactions": data.n_transactions, "agreement": check}
        spark_row = Row("prep", data.n_transactions, "tx", "gda_clv spark", t_spark,
                        target=">=2x lifetimes (3M, 10M); <4x DuckDB", extra=extra)
        spark_row.extra["vs_duckdb"] = t_spark / t_duck
        rows += [Row("prep", data.n_transactions, "tx", "lifetimes", t_life),
                 spark_row,
                 Row("prep", data.n_transactions, "tx", "duckdb", t_duck)]
    with_ratios(rows, "lifetimes")
    for r in rows:
        if r.impl == "gda_clv spark" and r.ratio is not None and r.size >= 2_500_000:  # targets name 3M, 10M
            r.met = bool(r.ratio >= 2 and r.extra["vs_duckdb"] < 4 and r.extra["agreement"]["agree"])
    return rows
