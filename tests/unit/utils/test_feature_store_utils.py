"""Update conditions and the source fingerprint of the feature table."""
from __future__ import annotations

import datetime as dt

import pytest

from gda_clv.data.timeline import Timeline
from gda_clv.utils import feature_store_utils as fs

D = dt.date


@pytest.mark.parametrize(
    ("table_exists", "as_of_exists", "skip", "unchanged", "action"),
    [
        (False, False, True, False, fs.CREATE),
        (True, False, True, False, fs.APPEND),
        (True, True, False, True, fs.REPLACE),
        (True, True, True, False, fs.REPLACE),
        (True, True, True, True, fs.SKIP),
    ],
)
def test_plan_update(table_exists: bool, as_of_exists: bool, skip: bool, unchanged: bool, action: str) -> None:
    assert fs.plan_update(table_exists, as_of_exists, skip, unchanged) == action


def test_fingerprint_follows_content_and_settings(spark) -> None:
    schema = "customer_id string, day string, value string"
    rows = [("a", "2021-01-01", "1"), ("b", "2021-01-02", "2")]
    base = fs.fingerprint({"freq": "D"}, spark.createDataFrame(rows, schema))
    assert base == fs.fingerprint({"freq": "D"}, spark.createDataFrame(list(reversed(rows)), schema))  # order-free
    assert base != fs.fingerprint({"freq": "W"}, spark.createDataFrame(rows, schema))
    assert base != fs.fingerprint({"freq": "D"}, spark.createDataFrame([*rows, rows[0]], schema))
    assert base != fs.fingerprint({"freq": "D"}, spark.createDataFrame([rows[0], ("b", "2021-01-02", "3")], schema))


class _RecordingFeatureEngineeringClient:
    """Records the calls the Feature Engineering client would receive (it exists only on Databricks)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def create_table(self, **kwargs) -> None:
        self.calls.append(("create_table", kwargs))

    def write_table(self, **kwargs) -> None:
        self.calls.append(("write_table", kwargs))


def test_feature_engineering_backend_creates_then_merges(spark) -> None:
    from gda_clv.utils.common import FeatureStoreTableConfig

    table = FeatureStoreTableConfig(catalog=None, schema="fe_backend_test", table="features")
    features = spark.createDataFrame([("a", D(2021, 2, 28), 1.0)], "customer_id string, as_of date, frequency double")
    client = _RecordingFeatureEngineeringClient()
    backend = fs.FeatureEngineeringBackend(client, spark)
    backend.write(features, table, D(2021, 2, 28))
    spark.sql("CREATE SCHEMA IF NOT EXISTS fe_backend_test")
    features.write.mode("overwrite").saveAsTable(table.full_name)  # what create_table leaves behind
    backend.write(features, table, D(2021, 2, 28))
    assert client.calls == [
        ("create_table", {
            "name": "fe_backend_test.features", "primary_keys": ["customer_id", "as_of"],
            "timeseries_columns": "as_of", "df": features, "description": table.description,
        }),
        ("write_table", {"name": "fe_backend_test.features", "df": features, "mode": "merge"}),
    ]
    spark.sql("DROP SCHEMA fe_backend_test CASCADE")


def test_timeline_is_importable_from_its_old_home() -> None:
    assert fs.Timeline is Timeline
