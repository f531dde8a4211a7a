from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gda_clv.utils import jvm_archive


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(jvm_archive.ENV, str(tmp_path / "jvm"))
    return tmp_path / "jvm"


def test_off_means_no_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jvm_archive.ENV, "OFF")
    assert jvm_archive.folder() is None
    assert jvm_archive.plan() == jvm_archive.Archive("")


def test_the_default_folder_is_in_the_users_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jvm_archive.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert jvm_archive.folder() == tmp_path / "gda_clv" / "jvm"


def test_the_first_session_dumps_to_its_own_file_and_later_ones_map_the_archive(folder: Path) -> None:
    first = jvm_archive.plan()
    assert first.path is not None and first.dump == folder / f"{first.path.name}.{os.getpid()}.tmp"
    assert f"-XX:ArchiveClassesAtExit={first.dump}" in first.java_options
    assert "-Xlog:cds=off" in first.java_options and "-XX:+IgnoreUnrecognizedVMOptions" in first.java_options
    first.path.write_bytes(b"archive")
    later = jvm_archive.plan()
    assert later.dump is None and later.path == first.path
    assert f"-XX:SharedArchiveFile={first.path}" in later.java_options


def test_each_class_path_has_its_own_archive(folder: Path) -> None:
    assert jvm_archive.plan().path != jvm_archive.plan("/usr/share/java/postgresql.jar").path


def test_a_live_dump_is_left_alone_and_an_abandoned_one_removed(folder: Path) -> None:
    path = jvm_archive.plan().path
    assert path is not None
    name = path.name
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = folder / f"{name}.{writer.pid}.tmp"
        live.write_bytes(b"half")
        assert jvm_archive.plan() == jvm_archive.Archive("")  # nobody else dumps while it writes
    finally:
        writer.kill()
        writer.wait()
    assert jvm_archive.plan() == jvm_archive.Archive("")  # just ended: its JVM may still be writing
    old = time.time() - 3600
    os.utime(live, (old, old))
    again = jvm_archive.plan()
    assert again.dump is not None and not live.exists()


def test_publish_ends_the_jvm_at_its_input_and_renames_its_dump(folder: Path) -> None:
    archive = jvm_archive.plan()
    assert archive.dump is not None and archive.path is not None
    # a stand-in for the gateway JVM: it writes its dump when its standard input ends, as the JVM does at exit
    jvm = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdin.read(); open({str(archive.dump)!r}, 'wb')"
                            ".write(b'classes')"], stdin=subprocess.PIPE)
    jvm_archive.publish(archive, jvm)
    assert archive.path.read_bytes() == b"classes" and not archive.dump.exists()


def test_publish_drops_an_empty_dump(folder: Path) -> None:
    archive = jvm_archive.plan()
    assert archive.dump is not None and archive.path is not None
    jvm = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdin.read(); open({str(archive.dump)!r}, 'wb')"],
                           stdin=subprocess.PIPE)
    jvm_archive.publish(archive, jvm)
    assert not archive.path.exists() and not archive.dump.exists()


def test_only_the_most_recently_used_archives_are_kept(folder: Path) -> None:
    folder.mkdir(parents=True)
    for age, name in enumerate(("spark-a.jsa", "spark-b.jsa", "spark-c.jsa", "spark-d.jsa", "spark-e.jsa")):
        (folder / name).write_bytes(b"old")
        os.utime(folder / name, (time.time() - 1000 * (age + 1),) * 2)
    (folder / "notes.txt").write_text("not an archive")
    archive = jvm_archive.plan()
    assert archive.dump is not None and archive.path is not None
    jvm = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdin.read(); open({str(archive.dump)!r}, 'wb')"
                            ".write(b'classes')"], stdin=subprocess.PIPE)
    jvm_archive.publish(archive, jvm)
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted([archive.path.name, "spark-a.jsa", "spark-b.jsa", "spark-c.jsa", "notes.txt"])
    assert len(list(folder.glob("spark-*.jsa"))) == jvm_archive.KEEP
    os.utime(archive.path, (time.time() - 5000,) * 2)
    mapped = jvm_archive.plan()  # the new archive exists: mapped, and marked as used now
    assert mapped.path == archive.path and archive.path.stat().st_mtime > time.time() - 60
