"""The few file operations the prediction output layout needs, on ``output.path``: ``dbutils.fs`` on Databricks,
``pathlib`` for a local folder, ``fsspec`` for other URIs when it is installed."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Protocol

from gda_clv.errors import ConfigError


class OutputFiles(Protocol):
    """What each backend (dbutils, pathlib, fsspec) implements."""

    def list_dirs(self, path: str) -> list[str]:
        """Names of the folders directly under ``path``, sorted; empty when ``path`` does not exist."""

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists."""

    def write_text(self, path: str, text: str) -> None:
        """Write ``text`` to the file ``path``, replacing it."""

    def read_text(self, path: str) -> str:
        """The text of the file ``path``."""

    def remove_tree(self, path: str) -> None:
        """Remove ``path`` and everything under it."""


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
        text: str = self._fs.head(path, 10 * 1024 * 1024)  # dbutils ships no types
        return text

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
            text: str = handle.read()  # fsspec ships no types
        return text

    def remove_tree(self, path: str) -> None:
        self._fs.rm(path, recursive=True)


def is_local(path: str) -> bool:
    """Whether ``path`` is a local folder (no URI scheme, not ``dbfs:``)."""
    return "://" not in path and not path.startswith(("dbfs:", "file:"))


def files_for(path: str, dbutils: Any = None) -> OutputFiles:
    """dbutils when given, pathlib for a local folder, fsspec for other URIs.

    Raises ``ConfigError`` for a remote URI without dbutils when fsspec is not installed.
    """
    if dbutils is not None:
        return _DbutilsFiles(dbutils)
    if is_local(path):
        return _LocalFiles()
    try:
        return _FsspecFiles(path)
    except ImportError as exc:
        raise ConfigError(
            f"output.path '{path}' is a remote URI: run on Databricks (dbutils) or install fsspec "
            "with the filesystem's driver (e.g. adlfs for abfss://), or set output.path to a local folder"
        ) from exc


def join_path(*parts: str) -> str:
    """``parts`` joined by single slashes (URIs keep their scheme's ``//``)."""
    head, *rest = parts
    return "/".join([head.rstrip("/")] + [p.strip("/") for p in rest])


def normalise_root(output_path: str) -> str:
    """A local ``output_path`` made absolute, a URI without its trailing slash."""
    return str(Path(output_path).resolve()) if is_local(output_path) else output_path.rstrip("/")

