"""The least a Spark program does for the race's data, a floor for any Spark pipeline on this machine.

``python -m bench.spark_floor SOURCE.csv OUT_DIR --observation-end DATE``: start local Spark (the pipeline's
settings and JVM class archive, no metastore), read the CSV, the per-customer summary as lifetimes defines it
(frequency, recency, T in days and the mean repeat-day spend, over the whole period), write it as Parquet. No
validation, quarantine, tables, models, CLV or monitoring: what `gda-clv run` does on top of this is the part of its
time that is its own. ``OUT_DIR/phases.json`` holds the wall seconds of each phase.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from bench.common import race_contestant_args


def run(source: Path, out_dir: Path, observation_end: str) -> dict[str, float]:
    """Start Spark, summarise, write; returns the wall seconds of each phase."""
    started = time.perf_counter()
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from gda_clv.utils import jvm_archive

    archive = jvm_archive.plan()
    spark = (SparkSession.builder.master("local[*]").config("spark.sql.shuffle.partitions", "8")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "2g").config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.extraJavaOptions", archive.java_options if archive.dump is None else "")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    phases = {"start Spark": round(time.perf_counter() - started, 3)}
    started = time.perf_counter()
    end = F.lit(observation_end).cast("date")
    tx = spark.read.option("header", "true").csv(str(source)).select(
        "customer_id", F.to_date("transaction_date").alias("day"), F.col("amount").cast("double").alias("amount"))
    days = tx.where(F.col("day") <= end).groupBy("customer_id", "day").agg(F.sum("amount").alias("amount"))
    per_customer = days.groupBy("customer_id").agg(
        F.count(F.lit(1)).alias("days"), F.min("day").alias("first"), F.max("day").alias("last"),
        F.sum("amount").alias("total"), F.min_by("amount", "day").alias("first_amount"))
    repeat = F.col("days") - 1
    per_customer.select(
        "customer_id", repeat.cast("double").alias("frequency"),
        F.datediff("last", "first").cast("double").alias("recency"),
        F.datediff(end, "first").cast("double").alias("T"),
        F.when(repeat > 0, (F.col("total") - F.col("first_amount")) / repeat).otherwise(0.0).alias("monetary_value"),
    ).write.mode("overwrite").parquet(str(out_dir / "features.parquet"))
    phases["read, summarise, write"] = round(time.perf_counter() - started, 3)
    return phases


def main(argv: list[str] | None = None) -> int:
    args = race_contestant_args("python -m bench.spark_floor", __doc__, argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    phases = run(args.source, args.out_dir, args.observation_end)
    (args.out_dir / "phases.json").write_text(json.dumps(phases, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
