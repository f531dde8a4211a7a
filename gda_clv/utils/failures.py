"""Failures below Python (the JVM, the file system) told as one line that says what happened and what to do.

``describe(exc, state_dir)`` turns an exception from Spark, py4j or the OS into that line; the CLI prints it as one
ERROR line and keeps the full detail (Python traceback, Java stack) in a log file under ``<state_dir>/logs``.
"""
from __future__ import annotations

import datetime as dt
import errno
import tempfile
import traceback
from pathlib import Path

# (text found anywhere in the exception chain, what happened and what to do; {state} is the state dir)
_KNOWN: tuple[tuple[str, str], ...] = (
    (
        "Another instance of Derby may have already booted",
        "state dir {state} is in use by another gda-clv process (its Derby metastore is locked): wait for that "
        "process to finish, or give this run its own state with --set runtime.state_dir=/another/folder",
    ),
    (
        "No space left on device",
        "no space left on device under {state}: free disk space there, or point runtime.state_dir (and "
        "output.path) at a larger disk",
    ),
    (
        "Read-only file system",
        "{state} is read-only: make it writable, or set runtime.state_dir (and output.path) to a writable folder",
    ),
    (
        "Permission denied",
        "permission denied writing under {state}: make it writable for this user, or set runtime.state_dir (and "
        "output.path) to a folder you own",
    ),
)
_ERRNO_TEXT = {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system",
               errno.EACCES: "Permission denied", errno.EPERM: "Permission denied"}


def is_below_python(exc: BaseException) -> bool:
    """True for failures of the JVM (py4j, Spark) or the operating system rather than of gda_clv's own logic."""
    names = {cls.__module__.split(".")[0] for cls in type(exc).__mro__}
    return isinstance(exc, OSError) or bool(names & {"py4j", "pyspark"})


def describe(exc: BaseException, state_dir: Path | str) -> str:
    """One line: what happened and what to do, for a failure below Python."""
    text = _chain_text(exc)
    for needle, message in _KNOWN:
        if needle in text:
            return message.format(state=state_dir)
    return f"Spark or the file system failed: {_root_cause(exc)}"


def write_detail(exc: BaseException, state_dir: Path | str, step: str) -> Path:
    """Write the full traceback (with any Java stack) to a log file; returns its path.

    Under ``<state_dir>/logs``, or the system temp folder when the state dir cannot be written (a full or
    read-only disk is one of the failures being reported).
    """
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for folder in (Path(state_dir) / "logs", Path(tempfile.gettempdir()) / "gda_clv-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{step}-{stamp}.log"
            path.write_text(detail)
            return path
        except OSError:
            continue
    raise exc


def _chain_text(exc: BaseException) -> str:
    parts = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(str(current))
        if isinstance(current, OSError) and current.errno in _ERRNO_TEXT:
            parts.append(_ERRNO_TEXT[current.errno])
        java = getattr(current, "java_exception", None)
        if java is not None:
            parts.append(str(java.toString()))
            cause = java.getCause()
            while cause is not None:
                parts.append(str(cause.toString()))
                cause = cause.getCause()
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def java_root_cause(exc: BaseException) -> str | None:
    """The deepest cause of a py4j Java exception as Java prints it, or None for a Python exception."""
    cause = getattr(exc, "java_exception", None)
    if cause is None:
        return None
    while cause.getCause() is not None:
        cause = cause.getCause()
    return str(cause.toString())


def _root_cause(exc: BaseException) -> str:
    java = java_root_cause(exc)
    if java is not None:
        return java.splitlines()[0]
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
