"""The RFM feature table: existence checks and update conditions, and writing it.

Keyed by (``customer_id``, ``as_of``) where ``as_of`` is the observation end. Re-running for an ``as_of`` replaces
that ``as_of``'s rows only; a new ``as_of`` appends; with ``data.skip_if_unchanged`` a run whose ``as_of`` already
has features computed from the same source and settings (same fingerprint) writes nothing.

Backends, chosen once by :func:`feature_backend`: on Databricks with the Feature Engineering client, the table is
created and written through it (primary keys + timeseries column, ``mode="merge"``); otherwise through
:class:`~gda_clv.utils.tables.TableStore` (Parquet locally, Delta elsewhere), partitioned by ``as_of``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gda_clv.data.timeline import Timeline as Timeline  # re-exported: prepare and notebooks use it here
from gda_clv.utils.common import FeatureStoreTableConfig, JobContext
from gda_clv.utils.tables import TableStore

FINGERPRINT_PROPERTY = "gda_clv.source_fingerprint."

CREATE, REPLACE, APPEND, SKIP = "create", "replace", "append", "skip"


def fingerprint(settings: dict[str, Any], source: DataFrame) -> str:
    """A digest of the settings that shape the features and of the source's content (row count + row hashes)."""
    columns = [F.col(f"`{name}`") for name in source.columns]
    stats = source.agg(F.count(F.lit(1)).alias("n"), F.sum(F.xxhash64(*columns).cast("decimal(38,0)")).alias("h"))
    (row,) = stats.collect()  # an aggregate without grouping: exactly one row
    payload = json.dumps({"settings": settings, "rows": row["n"], "hash": str(row["h"])}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def plan_update(table_exists: bool, as_of_exists: bool, skip_if_unchanged: bool, unchanged: bool) -> str:
    """What a run should do to the feature table: create, replace (this as_of), append (new as_of) or skip."""
    if not table_exists:
        return CREATE
    if not as_of_exists:
        return APPEND
    return SKIP if skip_if_unchanged and unchanged else REPLACE


class FeatureBackend(Protocol):
    """Where the feature table lives and how it is written."""

    def exists(self, table: FeatureStoreTableConfig) -> bool:
        """Whether the feature table exists."""

    def write(self, features: DataFrame, table: FeatureStoreTableConfig, as_of: dt.date) -> None:
        """Create the table or replace the rows of ``as_of`` with ``features``, leaving other dates untouched."""


class TableStoreBackend:
    """A plain table partitioned by ``as_of``: one as_of's rows replaced atomically, others untouched."""

    def __init__(self, store: TableStore) -> None:
        self.store = store

    def exists(self, table: FeatureStoreTableConfig) -> bool:
        """See :meth:`FeatureBackend.exists`."""
        return self.store.exists(table.full_name)

    def write(self, features: DataFrame, table: FeatureStoreTableConfig, as_of: dt.date) -> None:
        """See :meth:`FeatureBackend.write`."""
        self.store.replace_where(features, table.full_name, table.timeseries_column, as_of)


class FeatureEngineeringBackend:
    """Databricks Feature Engineering in Unity Catalog: primary keys + timeseries column, ``mode="merge"``.

    A merge upserts by (customer_id, as_of), so re-running an as_of is idempotent and other as-ofs stay.
    """

    def __init__(self, client: Any, spark: SparkSession) -> None:
        self.client = client
        self.spark = spark

    def exists(self, table: FeatureStoreTableConfig) -> bool:
        """See :meth:`FeatureBackend.exists`."""
        return self.spark.catalog.tableExists(table.full_name)

    def write(self, features: DataFrame, table: FeatureStoreTableConfig, as_of: dt.date) -> None:
        """See :meth:`FeatureBackend.write`."""
        if not self.exists(table):
            self.client.create_table(
                name=table.full_name,
                primary_keys=list(table.primary_keys),
                timeseries_columns=table.timeseries_column,
                df=features,
                description=table.description,
            )
            return
        self.client.write_table(name=table.full_name, df=features, mode="merge")


def feature_backend(ctx: JobContext) -> FeatureBackend:
    """Feature Engineering on Databricks when its client is installed, else the context's TableStore."""
    if ctx.is_databricks:
        try:
            from databricks.feature_engineering import FeatureEngineeringClient
        except ImportError:
            ctx.logger.info("databricks-feature-engineering not installed: writing features as a plain table")
        else:
            return FeatureEngineeringBackend(FeatureEngineeringClient(), ctx.spark)
    return TableStoreBackend(ctx.tables)


def as_of_exists(spark: SparkSession, table: FeatureStoreTableConfig, as_of: dt.date) -> bool:
    """Whether the (existing) feature table has rows for ``as_of``."""
    column = table.timeseries_column
    return spark.table(table.full_name).where(F.col(column) == F.lit(as_of)).limit(1).count() > 0


def stored_fingerprint(spark: SparkSession, table: FeatureStoreTableConfig, as_of: dt.date) -> str | None:
    """The source fingerprint recorded for ``as_of`` in the table's properties, if any."""
    key = f"{FINGERPRINT_PROPERTY}{as_of.isoformat()}"
    properties = {row["key"]: row["value"] for row in spark.sql(f"SHOW TBLPROPERTIES {table.full_name}").collect()}
    return properties.get(key)


def record_fingerprint(spark: SparkSession, table: FeatureStoreTableConfig, as_of: dt.date, digest: str) -> None:
    """Remember which source/settings produced ``as_of``'s features (a table property)."""
    key = f"{FINGERPRINT_PROPERTY}{as_of.isoformat()}"
    spark.sql(f"ALTER TABLE {table.full_name} SET TBLPROPERTIES ('{key}' = '{digest}')")
