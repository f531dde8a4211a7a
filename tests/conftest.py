"""Shared fixtures: one session-scoped local SparkSession, small and quiet."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    from gda_clv.utils.spark_session import build_local_session

    state = tmp_path_factory.mktemp("spark_state")
    session = build_local_session(state_dir=Path(state), master="local[2]", shuffle_partitions=2, quick_jit=True)
    yield session
    session.stop()
