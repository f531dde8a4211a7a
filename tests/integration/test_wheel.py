"""The wheel builds, installs into a clean venv on each runtime profile, and its CLI answers --help."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gda_clv import __version__
from gda_clv.utils.job_meta_checker import wheel_commit

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".venv-boot" / "bin" / "uv"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        check=True, capture_output=True, text=True,
    )
    (built,) = out.glob("gda_clv-*.whl")
    return built


def test_wheel_ships_config_and_entry_points(wheel: Path) -> None:
    assert wheel.name == f"gda_clv-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"gda_clv-{__version__}.dist-info/entry_points.txt").decode()
        requires = archive.read(f"gda_clv-{__version__}.dist-info/METADATA").decode()
    assert {"gda_clv/conf/base.yml", "gda_clv/conf/environments/prod.yml", "gda_clv/conf/models/NOAM/clv.yml"} <= names
    assert "gda_clv/utils/job_gen/dbx_reader.py" in names  # job-gen runs it with the dbx venv's python
    for step in ("clv_prepare", "clv_train_frequency", "clv_train_monetary", "clv_project", "clv_run"):
        assert f"{step} = gda_clv.cli:" in entry_points
    assert "gda-clv = gda_clv.cli:main" in entry_points
    assert "Requires-Dist: pyspark" not in requires  # the cluster provides Spark


# Each runtime mirror runs on its runtime's Python (Makefile); `make test PROFILE=...` covers the other one.
PROFILE_PYTHON = {"dbr-16.4": (3, 11), "dbr-17.3": (3, 12)}


@pytest.mark.parametrize("profile", sorted(PROFILE_PYTHON))
def test_wheel_installs_on_each_runtime_profile(wheel: Path, profile: str, tmp_path: Path) -> None:
    """As a job library: the runtime's pins first, then the wheel unpinned; it may move only allow-listed pins."""
    if sys.version_info[:2] != PROFILE_PYTHON[profile]:
        pytest.skip(f"{profile} mirrors Python {PROFILE_PYTHON[profile]}; run make test PROFILE={profile}")
    venv, pins = tmp_path / "venv", REPO / "constraints" / f"{profile}.txt"
    python = str(venv / "bin" / "python")
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    for args in (["-r", str(pins)], [str(wheel)]):
        subprocess.run([str(UV), "pip", "install", "--quiet", "--python", python, *args],
                       check=True, capture_output=True, text=True)
    freeze = tmp_path / "freeze.txt"
    freeze.write_text(subprocess.run([str(UV), "pip", "freeze", "--python", python],
                                     check=True, capture_output=True, text=True).stdout)
    moves = subprocess.run([sys.executable, str(REPO / "tests" / "runtime_moves.py"), str(pins), str(freeze)],
                           capture_output=True, text=True)
    assert moves.returncode == 0, moves.stdout
    subprocess.run([python, "-c", "import hyperopt"], check=True, capture_output=True, text=True)
    result = subprocess.run([str(venv / "bin" / "gda-clv"), "--help"], capture_output=True, text=True, check=True)
    assert "prepare" in result.stdout and "train-frequency" in result.stdout and "job-gen" in result.stdout
    # From the wheel alone (no repo checkout on the path), the shipped conf validates.
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from gda_clv.utils.config_utils import load_config, default_conf_dir; "
         "print(default_conf_dir().parts[-2:], load_config('prod').tables.format)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )
    assert check.stdout.strip() == "('gda_clv', 'conf') delta"


def test_wheel_reports_its_build_commit_outside_git(wheel: Path, tmp_path: Path) -> None:
    """A python_wheel_task has no checkout: the installed wheel reports the commit stamped at build time."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    assert not (REPO / "gda_clv" / "_build_info.py").exists()  # stamped into the build, never the source tree
    result = subprocess.run(
        [sys.executable, "-I", "-c",
         "import sys; sys.path.insert(0, sys.argv[1]); import gda_clv.utils.commit as c; "
         "assert c.__file__.startswith(sys.argv[1]), c.__file__; print(c.get_commit_id())",
         str(tmp_path / "site")],
        capture_output=True, text=True, check=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "GIT_DIR": "/none"},
    )
    assert result.stdout.strip() == head
    assert wheel_commit(wheel) == head  # what check-meta --wheel reads in `make deploy`
