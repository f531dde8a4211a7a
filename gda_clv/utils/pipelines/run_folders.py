"""Dated run folders under ``output.path``: name, write, publish (``_COMPLETE`` then ``LATEST``), list, clean up.

A run folder without ``_COMPLETE`` is a failed or running write: readers ignore it and the next cleanup removes it
once a newer run is complete.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame

from gda_clv.utils.pipelines.output_files import files_for, join_path, normalise_root

COMPLETE_MARKER = "_COMPLETE"
LATEST_FILE = "LATEST"
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RUN_DIR = re.compile(r"^\d{6}Z_[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class InferenceOutput:
    """Where one run's prediction files went."""

    run_folder: str
    parquet_path: str
    csv_path: str | None
    removed_runs: tuple[str, ...]


def run_folder_name(run_id: str, run_time: dt.datetime) -> str:
    """``YYYY-MM-DD/HHMMSSZ_<run_id>`` (UTC): sorts chronologically by name."""
    utc = run_time.astimezone(dt.timezone.utc) if run_time.tzinfo else run_time
    safe_id = re.sub(r"[^A-Za-z0-9_.-]", "-", run_id)
    return f"{utc:%Y-%m-%d}/{utc:%H%M%S}Z_{safe_id}"


def write_run_files(
    predictions: DataFrame,
    output_path: str,
    run_id: str,
    *,
    run_time: dt.datetime | None = None,
    write_csv: bool = False,
    dbutils: Any = None,
) -> InferenceOutput:
    """Write ``predictions`` as Parquet (and CSV if asked) into a new dated run folder, not yet visible.

    The folder has no ``_COMPLETE`` marker and ``LATEST`` is unchanged until :func:`publish_run`.
    """
    root = normalise_root(output_path)
    folder = join_path(root, run_folder_name(run_id, run_time or dt.datetime.now(dt.timezone.utc)))
    parquet_path = join_path(folder, "predictions.parquet")
    predictions.write.mode("overwrite").parquet(parquet_path)
    csv_path = None
    if write_csv:
        csv_path = join_path(folder, "predictions.csv")
        predictions.coalesce(1).write.mode("overwrite").option("header", "true").csv(csv_path)
    return InferenceOutput(folder, parquet_path, csv_path, ())


def check_keep_last(keep_last: int) -> None:
    """Raise ``ValueError`` unless at least one run is kept."""
    if keep_last < 1:
        raise ValueError(f"keep_last must be at least 1, got {keep_last}")


def publish_run(output_path: str, run_folder: str, keep_last: int = 5, dbutils: Any = None) -> tuple[str, ...]:
    """Make ``run_folder`` the newest complete run (``_COMPLETE``, then ``LATEST``) and keep the last N runs.

    Returns the removed ``date/run`` paths.
    Raises ValueError when keep_last is below 1 (the config's ``output.keep_last`` is checked by its schema).
    """
    check_keep_last(keep_last)
    root = normalise_root(output_path)
    files = files_for(root, dbutils)
    files.write_text(join_path(run_folder, COMPLETE_MARKER), dt.datetime.now(dt.timezone.utc).isoformat())
    files.write_text(join_path(root, LATEST_FILE), relative_run(root, run_folder) + "\n")
    return tuple(cleanup_old_runs(root, keep_last, dbutils=dbutils))


def relative_run(output_path: str, run_folder: str) -> str:
    """``date/run`` of a run folder under ``output_path``."""
    return run_folder.removeprefix(normalise_root(output_path)).strip("/")



def list_runs(output_path: str, dbutils: Any = None) -> list[tuple[str, bool]]:
    """All run folders under ``output_path``, oldest first, as (``date/run``, complete?)."""
    root = normalise_root(output_path)
    files = files_for(root, dbutils)
    runs = []
    for day in (d for d in files.list_dirs(root) if _DATE_DIR.match(d)):
        for run in (r for r in files.list_dirs(join_path(root, day)) if _RUN_DIR.match(r)):
            relative = f"{day}/{run}"
            runs.append((relative, files.exists(join_path(root, relative, COMPLETE_MARKER))))
    return runs


def latest_run_folder(output_path: str, dbutils: Any = None) -> str | None:
    """The newest complete run folder (from ``LATEST``), or None before the first run."""
    root = normalise_root(output_path)
    files = files_for(root, dbutils)
    pointer = join_path(root, LATEST_FILE)
    if not files.exists(pointer):
        return None
    return join_path(root, files.read_text(pointer).strip())


def cleanup_old_runs(output_path: str, keep_last: int, dbutils: Any = None) -> list[str]:
    """Remove all but the newest ``keep_last`` complete runs, and incomplete runs older than the newest complete one.

    Folders that do not follow the run layout are never touched. Returns the removed ``date/run`` paths.
    """
    root = normalise_root(output_path)
    files = files_for(root, dbutils)
    runs = list_runs(root, dbutils)
    complete = [name for name, done in runs if done]
    if not complete:
        return []
    keep = set(complete[-keep_last:])
    newest = complete[-1]
    doomed = [name for name, done in runs if name not in keep and (done or name < newest)]
    for name in doomed:
        files.remove_tree(join_path(root, name))
    for day in sorted({name.split("/")[0] for name in doomed}):
        if not files.list_dirs(join_path(root, day)):
            files.remove_tree(join_path(root, day))
    return doomed


