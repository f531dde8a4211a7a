"""A write killed half-way leaves files the metastore does not know; the next write recovers by itself."""
from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pyspark
import pytest
from pyspark.sql import SparkSession

from gda_clv.utils.tables import TableStore


def _frame(spark: SparkSession, as_of: dt.date, n: int):
    rows = [(str(i), float(i), as_of) for i in range(n)]
    return spark.createDataFrame(rows, "customer_id string, x double, as_of date")


def _location(spark: SparkSession, name: str) -> Path:
    namespace, table = name.split(".")
    rows = spark.sql(f"DESCRIBE SCHEMA EXTENDED {namespace}").collect()
    return Path(next(r[1] for r in rows if r[0].lower() == "location").removeprefix("file:")) / table


def test_first_write_recovers_from_an_orphan_folder(spark: SparkSession) -> None:
    store = TableStore(spark)
    name = f"recover_{uuid.uuid4().hex[:8]}.t"
    store.ensure_schema(name)
    # what a process killed during saveAsTable leaves: data files at the table's location, no metastore entry
    orphan = _location(spark, name)
    _frame(spark, dt.date(2024, 1, 1), 3).write.parquet(str(orphan / "as_of=2024-01-01"))
    assert orphan.is_dir() and not store.exists(name)
    store.replace_where(_frame(spark, dt.date(2024, 2, 1), 5), name, "as_of", dt.date(2024, 2, 1))
    table = store.read(name)
    assert table.count() == 5  # the orphan's rows are gone, not mixed in
    assert [r.as_of for r in table.select("as_of").distinct().collect()] == [dt.date(2024, 2, 1)]


def test_append_recovers_from_an_orphan_folder(spark: SparkSession) -> None:
    store = TableStore(spark)
    name = f"recover_{uuid.uuid4().hex[:8]}.q"
    store.ensure_schema(name)
    _frame(spark, dt.date(2024, 1, 1), 2).write.parquet(str(_location(spark, name)))
    store.append(_frame(spark, dt.date(2024, 1, 1), 4), name)
    assert store.read(name).count() == 4


def test_staging_folders_of_a_killed_overwrite_are_removed(spark: SparkSession) -> None:
    store = TableStore(spark)
    name = f"recover_{uuid.uuid4().hex[:8]}.t"
    store.replace_where(_frame(spark, dt.date(2024, 1, 1), 3), name, "as_of", dt.date(2024, 1, 1))
    location = _location(spark, name)
    for leftover in (".spark-staging-0b7e", "_temporary"):
        (location / leftover / "0").mkdir(parents=True)
    store.replace_where(_frame(spark, dt.date(2024, 1, 1), 4), name, "as_of", dt.date(2024, 1, 1))
    assert store.read(name).count() == 4
    assert not (location / ".spark-staging-0b7e").exists() and not (location / "_temporary").exists()


@pytest.mark.skipif(int(pyspark.__version__.split(".")[0]) < 4,
                    reason="only Spark 4 creates artifacts/ in the working directory (DBR 16.4 mirror has Spark 3.5)")
def test_killed_sessions_artifact_folders_are_removed_at_the_next_start(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    code = (
        "import os, signal\nfrom pathlib import Path\n"
        "from gda_clv.utils.spark_session import build_local_session\n"
        f"spark = build_local_session(Path({str(tmp_path / 'state')!r}), 'local[1]', 1)\n"
        "spark.range(3).mapInPandas(lambda it: it, 'id long').collect()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "artifacts").is_dir()  # what Spark 4 leaves in the working directory
    from gda_clv.utils.spark_session import remove_leftover_artifact_dirs

    remove_leftover_artifact_dirs(tmp_path)  # what build_local_session does in its working directory
    assert not (tmp_path / "artifacts").exists()
