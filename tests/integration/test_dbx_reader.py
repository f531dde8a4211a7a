"""Validation 1: the generated deployment.yml is read by dbx 0.8.19's own ConfigReader (in .venv-deploy)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gda_clv.errors import ConfigError
from gda_clv.utils import job_gen

REPO = Path(__file__).resolve().parents[2]
DBX_PYTHON = REPO / ".venv-deploy" / "bin" / "python"
COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture(scope="module")
def dbx_python() -> Path:
    """The deploy venv, created once through the Makefile rule when missing (reused afterwards)."""
    if not (REPO / ".venv-deploy" / ".installed").exists():
        done = subprocess.run(["make", ".venv-deploy"], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    version = subprocess.run([str(DBX_PYTHON), "-c", "import importlib.metadata as m; print(m.version('dbx'))"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "0.8.19"
    return DBX_PYTHON


def _generate(tmp_path: Path, dbx_python: Path, env_dir: Path) -> dict:
    return job_gen.generate(
        root=REPO, templates_path=REPO / "conf" / "templates.yml", conf_dir=env_dir,
        out=tmp_path / "deployment.yml", bundle_dir=None, commit=COMMIT, dbx_python=dbx_python, require_dbx=True,
        project_file=tmp_path / "project.json",
    )


def test_dbx_reads_every_environment(tmp_path: Path, dbx_python: Path) -> None:
    summary = _generate(tmp_path, dbx_python, REPO / "conf" / "environments")
    assert summary["validations"] == {"structure": "passed", "databricks_bundles": "passed", "dbx": "passed"}
    found = job_gen.check_with_dbx(tmp_path / "deployment.yml", dbx_python)
    assert found == {"dev": ["dev-clv-training", "dev-clv-scoring"],
                     "staging": ["staging-clv-training", "staging-clv-scoring"],
                     "prod": ["clv-training", "clv-scoring"]}


def test_dbx_reads_the_project_file_with_uc_volume_artifacts(tmp_path: Path, dbx_python: Path) -> None:
    """dbx's own ProjectInfo model reads the rendered .dbx/project.json, and rejects a broken one."""
    _generate(tmp_path, dbx_python, REPO / "conf" / "environments")
    project = json.loads((tmp_path / "project.json").read_text())
    assert project["environments"]["prod"]["properties"]["artifact_location"] == \
        "dbfs:/Volumes/gda_prod/clv/clv_files/artifacts/dbx"
    del project["environments"]["staging"]["properties"]["artifact_location"]
    (tmp_path / "project.json").write_text(json.dumps(project))
    with pytest.raises(ConfigError) as info:
        job_gen.check_with_dbx(tmp_path / "deployment.yml", dbx_python, tmp_path / "project.json")
    assert str(info.value).startswith(f"dbx 0.8.19 rejected its project file {tmp_path}/project.json: ")
    assert "environments -> staging" in str(info.value) and "artifact_location" in str(info.value)


def test_dbx_rejects_access_list_without_owner(tmp_path: Path, dbx_python: Path) -> None:
    env_dir = tmp_path / "environments"
    env_dir.mkdir()
    shutil.copy(REPO / "conf" / "base.yml", tmp_path / "base.yml")  # the layers under the environment files
    shutil.copytree(REPO / "conf" / "models", tmp_path / "models")
    for env in ("dev", "staging", "prod"):
        text = (REPO / "conf" / "environments" / f"{env}.yml").read_text()
        if env == "staging":
            text = text.replace("permission_level: IS_OWNER", "permission_level: CAN_MANAGE")
        (env_dir / f"{env}.yml").write_text(text)
    with pytest.raises(ConfigError) as info:
        _generate(tmp_path, dbx_python, env_dir)
    assert str(info.value) == (
        f"dbx 0.8.19 rejected {tmp_path}/deployment.yml, environment 'staging', workflow 'staging-clv-training': "
        "workflows -> 0 -> Workflow -> access_control_list | At least one owner (IS_OWNER) should be provided in "
        "the access control list (type=value_error) | workflows -> 1 -> Workflow -> access_control_list | At least "
        "one owner (IS_OWNER) should be provided in the access control list (type=value_error)"
    )


def test_dbx_rejects_hand_edited_file(tmp_path: Path, dbx_python: Path) -> None:
    _generate(tmp_path, dbx_python, REPO / "conf" / "environments")
    path = tmp_path / "deployment.yml"
    content = yaml.safe_load(path.read_text())
    task = content["environments"]["prod"]["workflows"][1]["tasks"][0]
    task["python_wheel_task"]["named_parameters"] = {"env": "prod"}
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(ConfigError) as info:
        job_gen.check_with_dbx(path, dbx_python)
    assert str(info.value).startswith(
        f"dbx 0.8.19 rejected {path}, environment 'prod', workflow 'clv-scoring': workflows -> 1 -> Workflow -> "
        "tasks -> 0 -> python_wheel_task -> __root__ | "
    )
