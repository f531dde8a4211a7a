"""Write prediction files and their lineage JSON under ``output.path`` (local folder, ``dbfs:`` or ``abfss://``).

Layout, one folder per run, dated by the run's UTC time::

    <output.path>/
        LATEST                                   relative path of the newest complete run
        2024-05-01/101530Z_<run_id>/
            predictions.parquet/                 Spark Parquet folder
            predictions.csv/                     optional, one CSV part with a header
            _COMPLETE                            written after the data: the run is readable
            lineage.json                         save_meta_to_blob_storage

The data is written by Spark (customers never reach the driver); the small files (marker, LATEST,
lineage) and the cleanup go through ``dbutils.fs`` on Databricks, ``pathlib`` for local folders, or
``fsspec`` for other URIs when it is installed. A run folder without ``_COMPLETE`` is a failed or
running write: readers ignore it and the next cleanup removes it once a newer run is complete.

This module writes a run and its lineage; the layout is :mod:`~gda_clv.utils.pipelines.run_folders`, the file
operations :mod:`~gda_clv.utils.pipelines.output_files`, the commit lookup :mod:`~gda_clv.utils.commit`. Their names
used by the pipelines and notebooks are importable from here, as before the split.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pyspark.sql import DataFrame

from gda_clv.utils.commit import get_commit_id
from gda_clv.utils.pipelines.output_files import files_for, join_path
from gda_clv.utils.pipelines.run_folders import (
    COMPLETE_MARKER,
    LATEST_FILE,
    InferenceOutput,
    check_keep_last,
    cleanup_old_runs,
    latest_run_folder,
    list_runs,
    publish_run,
    relative_run,
    run_folder_name,
    write_run_files,
)

LINEAGE_FILE = "lineage.json"


def save_inference_to_blob_storage(
    predictions: DataFrame,
    output_path: str,
    run_id: str,
    *,
    run_time: dt.datetime | None = None,
    write_csv: bool = False,
    keep_last: int = 5,
    dbutils: Any = None,
) -> InferenceOutput:
    """Write ``predictions`` as Parquet (and CSV if asked) into a new dated run folder, then keep the last N runs.

    The run becomes visible (``_COMPLETE`` marker, ``LATEST`` pointer) only after every file is
    written, so a write that fails midway leaves the previous runs and ``LATEST`` as they were.

    Raises ``ValueError`` when ``keep_last`` is below 1, before anything is written.
    """
    check_keep_last(keep_last)
    written = write_run_files(predictions, output_path, run_id, run_time=run_time, write_csv=write_csv,
                              dbutils=dbutils)
    removed = publish_run(output_path, written.run_folder, keep_last, dbutils)
    return InferenceOutput(written.run_folder, written.parquet_path, written.csv_path, removed)



def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the config as canonical JSON (sorted keys): equal configs, equal hashes."""
    canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def save_meta_to_blob_storage(meta: Mapping[str, object], run_folder: str, dbutils: Any = None) -> str:
    """Write the lineage ``meta`` as ``lineage.json`` in ``run_folder``; returns its path.

    ``meta`` is what the caller knows (commit id, models, as-of, row counts, config hash, source
    table version, timestamps); ``written_at`` is added here.
    """
    path = join_path(run_folder, LINEAGE_FILE)
    payload = {**meta, "written_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    files_for(run_folder, dbutils).write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str))
    return path


def save_text_to_blob_storage(text: str, run_folder: str, name: str, dbutils: Any = None) -> str:
    """Write ``text`` as ``name`` in ``run_folder`` (e.g. the monitoring report); returns its path."""
    path = join_path(run_folder, name)
    files_for(run_folder, dbutils).write_text(path, text)
    return path


__all__ = ["LINEAGE_FILE", "config_hash", "save_inference_to_blob_storage", "save_meta_to_blob_storage",
           "save_text_to_blob_storage",
           # importable here as before the split: the run-folder layout and the commit lookup
           "COMPLETE_MARKER", "LATEST_FILE", "InferenceOutput", "cleanup_old_runs", "get_commit_id",
           "latest_run_folder", "list_runs", "publish_run", "relative_run", "run_folder_name", "write_run_files"]
