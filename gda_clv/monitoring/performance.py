"""Model performance over time: what an earlier as_of predicted for a horizon vs what customers then did.

Actuals come from the feature table at ``as_of + horizon``: the change in ``frequency`` is the number of repeat
purchase periods in between, and ``frequency * monetary_value`` the repeat revenue. Aggregated in Spark; only
totals reach the driver.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Performance:
    """Totals and errors over the customers scored at the earlier as_of."""

    customers: int
    purchases_predicted: float
    purchases_actual: float
    purchases_mae: float
    revenue_predicted: float
    revenue_actual: float
    revenue_mae: float

    @property
    def purchases_bias(self) -> float:
        """(predicted - actual) / actual, 0 when nothing was bought."""
        return _bias(self.purchases_predicted, self.purchases_actual)

    @property
    def revenue_bias(self) -> float:
        """(predicted - actual) / actual revenue; 0 when nothing was bought."""
        return _bias(self.revenue_predicted, self.revenue_actual)


def _bias(predicted: float, actual: float) -> float:
    return (predicted - actual) / actual if actual else 0.0


def actuals(features_then: DataFrame, features_later: DataFrame) -> DataFrame:
    """``customer_id, purchases, revenue`` between two as-ofs' feature rows (customers of the earlier one)."""
    then = features_then.select("customer_id", F.col("frequency").alias("f0"),
                                (F.col("frequency") * F.col("monetary_value")).alias("r0"))
    later = features_later.select("customer_id", F.col("frequency").alias("f1"),
                                  (F.col("frequency") * F.col("monetary_value")).alias("r1"))
    joined = then.join(later, "customer_id", "left")
    return joined.select(
        "customer_id",
        F.greatest(F.coalesce(F.col("f1"), F.col("f0")) - F.col("f0"), F.lit(0.0)).alias("purchases"),
        F.greatest(F.coalesce(F.col("r1"), F.col("r0")) - F.col("r0"), F.lit(0.0)).alias("revenue"),
    )


def by_group(predictions: DataFrame, actual: DataFrame, purchases_column: str, group: str | None = None
             ) -> dict[str, Performance]:
    """Performance overall (key ``all``) or per value of ``group`` (e.g. ``value_tier``)."""
    pred = predictions.select(
        "customer_id", F.col(purchases_column).alias("pp"),
        (F.col(purchases_column) * F.col("expected_avg_spend")).alias("rp"),
        (F.col(group) if group else F.lit("all")).alias("_g"),
    )
    joined = pred.join(actual, "customer_id")
    rows = joined.groupBy("_g").agg(
        F.count(F.lit(1)).alias("n"), F.sum("pp").alias("pp"), F.sum("purchases").alias("pa"),
        F.avg(F.abs(F.col("pp") - F.col("purchases"))).alias("pmae"),
        F.sum("rp").alias("rp"), F.sum("revenue").alias("ra"),
        F.avg(F.abs(F.col("rp") - F.col("revenue"))).alias("rmae"),
    ).collect()
    return {str(r["_g"]): Performance(int(r["n"]), float(r["pp"] or 0), float(r["pa"] or 0), float(r["pmae"] or 0),
                                      float(r["rp"] or 0), float(r["ra"] or 0), float(r["rmae"] or 0))
            for r in rows}
