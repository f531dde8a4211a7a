"""Which just-in-time compiler the local Spark JVM runs: quick (C1 only) for small sources, full (C1 and C2) else.

Spark compiles every query to Java bytecode that the JVM then compiles to machine code. C2, the optimizing compiler,
pays off over long runs and costs CPU while a short one warms up. ``gda-clv run`` wall seconds on the project's 2-core
machine, C1 only against both (bench/README.md): the embedded CDNOW log (1.5 MB) 20-22 against 25.6-26.0, the race's
CSVs of 11 MB 23.7 against 29.7, 22.5 MB 27.7 against 34.9, 56 MB 40.9 against 41.6 and 118 MB 61.6 against 54.6.
``runtime.jit: auto`` takes C1 only for a local source file or folder under :data:`QUICK_BELOW_BYTES`.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from gda_clv.utils.config_schema import SourceConfig

QUICK_BELOW_BYTES = 32 * 2**20
QUICK_OPTION = "-XX:TieredStopAtLevel=1"


def quick(setting: str, source: SourceConfig) -> bool:
    """True when the JVM should run C1 only: ``runtime.jit`` is ``quick``, or ``auto`` and the source is small."""
    if setting != "auto":
        return setting == "quick"
    if source.format == "cdnow" and not source.path:
        return True  # the CDNOW file lifetimes ships, 1.5 MB
    if source.format == "table" or not source.path:
        return False
    size = local_size(source.path)
    return size is not None and size < QUICK_BELOW_BYTES


def local_size(location: str) -> int | None:
    """Bytes of a local file, or of the files under a local folder; None for a remote or missing location."""
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(parsed.path if parsed.scheme == "file" else location)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return None
