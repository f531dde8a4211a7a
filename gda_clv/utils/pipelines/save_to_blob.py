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
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pyspark.sql import DataFrame

from gda_clv.errors import ConfigError
from gda_clv.utils.commit import get_commit_id as get_commit_id  # re-exported: the pipelines call it here

COMPLETE_MARKER = "_COMPLETE"
LATEST_FILE = "LATEST"
LINEAGE_FILE = "lineage.json"
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RUN_DIR = re.compile(r"^\d{6}Z_[A-Za-z0-9_.-]+$")


class _Files(Protocol):
    """The few file operations the output layout needs."""

    def list_dirs(self, path: str) -> list[str]: ...

    def exists(self, path: str) -> bool: ...

    def write_text(self, path: str, text: str) -> None: ...

    def read_text(self, path: str) -> str: ...

    def remove_tree(self, path: str) -> None: ...


class _LocalFiles:
    def list_dirs(self, path: str) -> list[str]:
        root = Path(path)
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def write_text(self, path: str, text: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text)
        tmp.replace(target)  # atomic on one filesystem: readers see the old or the new file

    def read_text(self, path: str) -> str:
        return Path(path).read_text()

    def remove_tree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)


class _DbutilsFiles:
    def __init__(self, dbutils: Any) -> None:
        self._fs = dbutils.fs

    def list_dirs(self, path: str) -> list[str]:
        try:
            infos = self._fs.ls(path)
        except Exception:  # dbutils raises a java FileNotFoundException wrapper for a missing folder
            return []
        return sorted(info.name.rstrip("/") for info in infos if info.name.endswith("/"))

    def exists(self, path: str) -> bool:
        try:
            self._fs.ls(path)
            return True
        except Exception:
            return False

    def write_text(self, path: str, text: str) -> None:
        self._fs.put(path, text, True)

    def read_text(self, path: str) -> str:
        return self._fs.head(path, 10 * 1024 * 1024)

    def remove_tree(self, path: str) -> None:
        self._fs.rm(path, True)


class _FsspecFiles:
    def __init__(self, url: str) -> None:
        import fsspec

        self._fs, _ = fsspec.core.url_to_fs(url)

    def list_dirs(self, path: str) -> list[str]:
        if not self._fs.exists(path):
            return []
        entries = self._fs.ls(path, detail=True)
        return sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e["type"] == "directory")

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(path))

    def write_text(self, path: str, text: str) -> None:
        with self._fs.open(path, "w") as handle:
            handle.write(text)

    def read_text(self, path: str) -> str:
        with self._fs.open(path, "r") as handle:
            return handle.read()

    def remove_tree(self, path: str) -> None:
        self._fs.rm(path, recursive=True)


def _is_local(path: str) -> bool:
    return "://" not in path and not path.startswith(("dbfs:", "file:"))


def _files_for(path: str, dbutils: Any = None) -> _Files:
    """dbutils when given, pathlib for a local folder, fsspec for other URIs."""
    if dbutils is not None:
        return _DbutilsFiles(dbutils)
    if _is_local(path):
        return _LocalFiles()
    try:
        return _FsspecFiles(path)
    except ImportError as exc:
        raise ConfigError(
            f"output.path '{path}' is a remote URI: run on Databricks (dbutils) or install fsspec "
            "with the filesystem's driver (e.g. adlfs for abfss://), or set output.path to a local folder"
        ) from exc


def _join(*parts: str) -> str:
    head, *rest = parts
    return "/".join([head.rstrip("/")] + [p.strip("/") for p in rest])


def _normalise_root(output_path: str) -> str:
    return str(Path(output_path).resolve()) if _is_local(output_path) else output_path.rstrip("/")


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
    root = _normalise_root(output_path)
    folder = _join(root, run_folder_name(run_id, run_time or dt.datetime.now(dt.timezone.utc)))
    parquet_path = _join(folder, "predictions.parquet")
    predictions.write.mode("overwrite").parquet(parquet_path)
    csv_path = None
    if write_csv:
        csv_path = _join(folder, "predictions.csv")
        predictions.coalesce(1).write.mode("overwrite").option("header", "true").csv(csv_path)
    return InferenceOutput(folder, parquet_path, csv_path, ())


def publish_run(output_path: str, run_folder: str, keep_last: int = 5, dbutils: Any = None) -> tuple[str, ...]:
    """Make ``run_folder`` the newest complete run (``_COMPLETE``, then ``LATEST``) and keep the last N runs.

    Returns the removed ``date/run`` paths.
    Raises ConfigError when keep_last is below 1.
    """
    if keep_last < 1:
        raise ConfigError(f"output.keep_last must be at least 1, got {keep_last}")
    root = _normalise_root(output_path)
    files = _files_for(root, dbutils)
    files.write_text(_join(run_folder, COMPLETE_MARKER), dt.datetime.now(dt.timezone.utc).isoformat())
    files.write_text(_join(root, LATEST_FILE), relative_run(root, run_folder) + "\n")
    return tuple(cleanup_old_runs(root, keep_last, dbutils=dbutils))


def relative_run(output_path: str, run_folder: str) -> str:
    """``date/run`` of a run folder under ``output_path``."""
    return run_folder.removeprefix(_normalise_root(output_path)).strip("/")


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

    Raises ``ConfigError`` when ``keep_last`` is below 1.
    """
    if keep_last < 1:
        raise ConfigError(f"output.keep_last must be at least 1, got {keep_last}")
    written = write_run_files(predictions, output_path, run_id, run_time=run_time, write_csv=write_csv,
                              dbutils=dbutils)
    removed = publish_run(output_path, written.run_folder, keep_last, dbutils)
    return InferenceOutput(written.run_folder, written.parquet_path, written.csv_path, removed)


def list_runs(output_path: str, dbutils: Any = None) -> list[tuple[str, bool]]:
    """All run folders under ``output_path``, oldest first, as (``date/run``, complete?)."""
    root = _normalise_root(output_path)
    files = _files_for(root, dbutils)
    runs = []
    for day in (d for d in files.list_dirs(root) if _DATE_DIR.match(d)):
        for run in (r for r in files.list_dirs(_join(root, day)) if _RUN_DIR.match(r)):
            relative = f"{day}/{run}"
            runs.append((relative, files.exists(_join(root, relative, COMPLETE_MARKER))))
    return runs


def latest_run_folder(output_path: str, dbutils: Any = None) -> str | None:
    """The newest complete run folder (from ``LATEST``), or None before the first run."""
    root = _normalise_root(output_path)
    files = _files_for(root, dbutils)
    pointer = _join(root, LATEST_FILE)
    if not files.exists(pointer):
        return None
    return _join(root, files.read_text(pointer).strip())


def cleanup_old_runs(output_path: str, keep_last: int, dbutils: Any = None) -> list[str]:
    """Remove all but the newest ``keep_last`` complete runs, and incomplete runs older than the newest complete one.

    Folders that do not follow the run layout are never touched. Returns the removed ``date/run`` paths.
    """
    root = _normalise_root(output_path)
    files = _files_for(root, dbutils)
    runs = list_runs(root, dbutils)
    complete = [name for name, done in runs if done]
    if not complete:
        return []
    keep = set(complete[-keep_last:])
    newest = complete[-1]
    doomed = [name for name, done in runs if name not in keep and (done or name < newest)]
    for name in doomed:
        files.remove_tree(_join(root, name))
    for day in sorted({name.split("/")[0] for name in doomed}):
        if not files.list_dirs(_join(root, day)):
            files.remove_tree(_join(root, day))
    return doomed


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the config as canonical JSON (sorted keys): equal configs, equal hashes."""
    canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def save_meta_to_blob_storage(meta: dict[str, Any], run_folder: str, dbutils: Any = None) -> str:
    """Write the lineage ``meta`` as ``lineage.json`` in ``run_folder``; returns its path.

    ``meta`` is what the caller knows (commit id, models, as-of, row counts, config hash, source
    table version, timestamps); ``written_at`` is added here.
    """
    path = _join(run_folder, LINEAGE_FILE)
    payload = {**meta, "written_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    _files_for(run_folder, dbutils).write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str))
    return path


def save_text_to_blob_storage(text: str, run_folder: str, name: str, dbutils: Any = None) -> str:
    """Write ``text`` as ``name`` in ``run_folder`` (e.g. the monitoring report); returns its path."""
    path = _join(run_folder, name)
    _files_for(run_folder, dbutils).write_text(path, text)
    return path
