"""Table I/O behind one interface: Parquet in the local Spark metastore, Delta in Unity Catalog on Databricks.

Writes that replace one ``as_of`` are idempotent and leave other as-ofs untouched; a write that fails leaves the
table as it was (Delta: one transaction; Parquet: Spark's staged dynamic partition overwrite, committed at the end).
A process killed in the middle of a write leaves files the metastore does not know (a first write's folder, Spark's
staging folders); the next write removes them, so the next run recovers by itself.
"""
from __future__ import annotations

import logging
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


class TableStore:
    """Reads and writes tables by full name (``schema.table`` or ``catalog.schema.table``)."""

    def __init__(self, spark: SparkSession, table_format: str = "parquet") -> None:
        if table_format not in {"parquet", "delta"}:
            raise ValueError(f"table_format must be parquet or delta, got {table_format!r}")
        self.spark = spark
        self.format = table_format

    def exists(self, name: str) -> bool:
        """True when the metastore knows the table ``name``."""
        return self.spark.catalog.tableExists(name)

    def read(self, name: str) -> DataFrame:
        """The table ``name`` as a DataFrame (lazy)."""
        return self.spark.table(name)

    def ensure_schema(self, name: str) -> None:
        """Create the table's schema (database) if it is missing."""
        namespace = name.rsplit(".", 1)[0] if "." in name else None
        if namespace:
            self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {namespace}")

    def replace_where(self, df: DataFrame, name: str, column: str, value: Any) -> None:
        """Replace the rows of ``name`` where ``column == value`` with ``df`` (which holds only that value).

        Creates the table (partitioned by ``column``) if it is missing; other values' rows are left as they are.
        An empty ``df`` removes that value's rows.
        """
        if not self.exists(name):
            self.ensure_schema(name)
            self._remove_leftovers(name, whole=True)
            df.write.format(self.format).partitionBy(column).saveAsTable(name)
            return
        self._remove_leftovers(name, whole=False)
        ordered = df.select(*self.read(name).columns)
        if self.format == "parquet" and ordered.isEmpty():  # dynamic overwrite replaces only partitions present
            self.spark.sql(f"ALTER TABLE {name} DROP IF EXISTS PARTITION ({column} = '{_sql_value(value)}')")
            return
        if self.format == "delta":
            condition = f"{column} = '{_sql_value(value)}'"
            ordered.write.format("delta").mode("overwrite").option("replaceWhere", condition).saveAsTable(name)
        else:
            # insertInto with dynamic partition overwrite replaces only the partitions present in ``df``.
            ordered.write.mode("overwrite").option("partitionOverwriteMode", "dynamic").insertInto(name)

    def append(self, df: DataFrame, name: str, partition_by: str | None = None) -> None:
        """Append ``df`` to ``name``, creating it (partitioned by ``partition_by``) if it is missing."""
        if not self.exists(name):
            self.ensure_schema(name)
            self._remove_leftovers(name, whole=True)
            writer = df.write.format(self.format)
            (writer.partitionBy(partition_by) if partition_by else writer).saveAsTable(name)
            return
        df.select(*self.read(name).columns).write.insertInto(name)

    def _remove_leftovers(self, name: str, whole: bool) -> None:
        """Delete what a killed write left at a local Parquet table's location.

        ``whole``: the table is not in the metastore, so a folder at its location is an interrupted first write
        (Spark would refuse with LOCATION_ALREADY_EXISTS). Otherwise only Spark's staging folders. Delta tables
        (Databricks) commit atomically through their log and are left alone.
        """
        if self.format != "parquet":
            return
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None, "a driver's SparkContext always has its JVM gateway"
        location = jvm.org.apache.hadoop.fs.Path(self._default_location(name) if whole else self._location(name))
        fs = location.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(location):
            return
        if whole:
            _log.warning("removing %s: left by an interrupted first write of table %s", location.toString(), name)
            fs.delete(location, True)
            return
        for status in fs.listStatus(location):
            child = status.getPath()
            if child.getName().startswith(".spark-staging-") or child.getName() == "_temporary":
                _log.warning("removing %s: left by an interrupted write of table %s", child.toString(), name)
                fs.delete(child, True)

    def _location(self, name: str) -> str:
        rows = self.spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
        location: str = next(row[1] for row in rows if row[0] == "Location")
        return location

    def _default_location(self, name: str) -> str:
        """Where the metastore puts a managed table: the schema's location / table name."""
        namespace, _, table = name.rpartition(".")
        rows = self.spark.sql(f"DESCRIBE SCHEMA EXTENDED {namespace or 'default'}").collect()
        location = next(row[1] for row in rows if row[0].lower() == "location")
        return f"{location.rstrip('/')}/{table.lower()}"

    def max_value(self, name: str, column: str) -> Any:
        """The largest ``column`` value in the table, or None if the table is missing or empty."""
        if not self.exists(name):
            return None
        return self.read(name).agg(F.max(column)).collect()[0][0]  # an aggregate without grouping: one row


_log = logging.getLogger("gda_clv.tables")


def _sql_value(value: Any) -> str:
    return str(value).replace("'", "''")
