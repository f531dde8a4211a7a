"""A class-data-sharing archive for the local Spark JVM: the classes one run loads, mapped by the next runs' JVMs.

Spark's driver JVM loads and verifies some 20,000 classes at every start, a fixed cost of seconds on a laptop. When
no archive exists, the first local session's JVM writes the classes it loaded to one as it exits
(``-XX:ArchiveClassesAtExit``, JDK 13+), into a temporary file that is renamed in place once that JVM is gone, so a
starting JVM never maps a half-written archive. Later sessions map it (``-XX:SharedArchiveFile``). The JVM checks that
an archive matches its own build and class path and silently runs without one that does not, so a stale archive only
costs the speed-up; the file name is keyed by what changes the class path (pyspark's version and location, the
``java`` binary, extra class-path entries) so that different environments keep their own.

The archives live in ``$GDA_CLV_JVM_ARCHIVE`` (a folder; default ``$XDG_CACHE_HOME/gda_clv/jvm``, else
``~/.cache/gda_clv/jvm``), about 200 MB each, the :data:`KEEP` most recently used; ``GDA_CLV_JVM_ARCHIVE=off``
turns them off. Databricks clusters start
their own JVM, so none of this applies there.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pyspark

ENV = "GDA_CLV_JVM_ARCHIVE"
OFF = "off"
#: older JVMs ignore the archive options rather than fail to start; the JVM's own archive messages stay off the terminal
_QUIET = "-XX:+IgnoreUnrecognizedVMOptions -Xlog:cds=off -Xlog:cds+dynamic=off"
_ABANDONED_AFTER_S = 300  # a dump whose process is gone and that nobody renamed for this long is left over
_EXIT_WAIT_S = 300  # the longest a session's end waits for its JVM to write the archive
KEEP = 4  # archives kept in the folder, the most recently used (each environment and metastore driver has its own)


@dataclass(frozen=True)
class Archive:
    """The JVM options of one session, and where its dump goes when it writes the archive (``dump`` is None when it
    maps an existing one or runs without)."""

    java_options: str
    path: Path | None = None
    dump: Path | None = None


def folder() -> Path | None:
    """Where the archives live, or None when ``GDA_CLV_JVM_ARCHIVE=off``."""
    configured = os.environ.get(ENV, "")
    if configured.lower() == OFF:
        return None
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "gda_clv" / "jvm"


def _key(extra_class_path: str | None) -> str:
    """What the JVM's class path depends on: pyspark (its version and where its jars are), SPARK_HOME, the ``java``
    binary, extra entries."""
    java_home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=str(Path(java_home) / "bin")) if java_home else shutil.which("java")
    parts = (pyspark.__version__, str(Path(pyspark.__file__).parent), os.environ.get("SPARK_HOME", ""),
             os.path.realpath(java) if java else "", extra_class_path or "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _dumps_in_progress(directory: Path, name: str) -> bool:
    """True when a live process is writing ``name``; removes the dumps of processes that are gone."""
    busy = False
    for dump in directory.glob(f"{name}.*.tmp"):
        pid = dump.name.removeprefix(f"{name}.").removesuffix(".tmp")
        if pid.isdigit() and _alive(int(pid)):
            busy = True
        elif time.time() - dump.stat().st_mtime > _ABANDONED_AFTER_S:
            dump.unlink(missing_ok=True)
        else:  # its process just ended; its JVM may still be writing
            busy = True
    return busy


def plan(extra_class_path: str | None = None) -> Archive:
    """The archive options for a session about to start: map the archive, write it, or neither.

    Neither when archives are off, the folder cannot be created, or another live process is writing this archive.
    """
    directory = folder()
    if directory is None:
        return Archive("")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Archive("")
    name = f"spark-{_key(extra_class_path)}.jsa"
    path = directory / name
    if path.is_file():
        os.utime(path)  # used now: kept when older ones are removed
        return Archive(f"{_QUIET} -XX:SharedArchiveFile={path}", path)
    if _dumps_in_progress(directory, name):
        return Archive("")
    dump = directory / f"{name}.{os.getpid()}.tmp"
    return Archive(f"{_QUIET} -XX:ArchiveClassesAtExit={dump}", path, dump)


def publish(archive: Archive, jvm: subprocess.Popen[bytes] | None) -> None:
    """After the session stopped: end its JVM (the gateway's process), wait for it to write the archive, and rename
    the archive in place. Does nothing unless ``archive`` is a dump; a JVM that does not finish in time leaves its
    dump to be cleaned up by a later session."""
    if archive.dump is None or archive.path is None or jvm is None:
        return
    if jvm.stdin is not None:
        jvm.stdin.close()  # the gateway JVM exits at the end of its standard input
    try:
        jvm.wait(timeout=_EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        return
    if archive.dump.is_file() and archive.dump.stat().st_size > 0:
        os.replace(archive.dump, archive.path)
        _remove_least_recently_used(archive.path.parent)
    else:
        archive.dump.unlink(missing_ok=True)


def _remove_least_recently_used(directory: Path) -> None:
    """Keep the :data:`KEEP` most recently used archives of ``directory`` (a JVM mapping a removed one keeps it)."""
    archives = sorted(directory.glob("spark-*.jsa"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in archives[KEEP:]:
        old.unlink(missing_ok=True)
