"""Commit checks against a real temporary git repository and a real sqlite MLflow registry."""
from __future__ import annotations

import argparse
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from gda_clv.utils import job_meta_checker as meta


def _git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *env_args, *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository with three commits; returns it and the commit ids, oldest first."""
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q")
    commits = []
    for i in range(3):
        (path / "f.txt").write_text(str(i))
        _git(path, "add", "f.txt")
        _git(path, "commit", "-q", "-m", f"c{i}")
        commits.append(_git(path, "rev-parse", "HEAD"))
    return path, commits


def _deployment(path: Path, commits: dict[str, str | None]) -> Path:
    workflows = [{"name": name, "tags": {"git_commit": c} if c else {}} for name, c in commits.items()]
    path.write_text(yaml.safe_dump({"environments": {"dev": {"workflows": workflows}}}))
    return path


def test_deployment_commits(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, commits = repo
    head = commits[-1]
    file = _deployment(tmp_path / "d.yml", {"dev-a": head, "dev-b": commits[0], "dev-c": None})
    rows = meta.deployment_problems(file, head)
    assert rows == [
        {"kind": "workflow", "environment": "dev", "name": "dev-b", "commit": commits[0],
         "problem": f"generated from another commit (deploying {head[:12]})"},
        {"kind": "workflow", "environment": "dev", "name": "dev-c", "commit": "-", "problem": "no git_commit tag"},
    ]
    assert meta.format_table(rows).splitlines()[0].split() == ["kind", "environment", "name", "commit", "problem"]


def test_commit_problems(repo: tuple[Path, list[str]]) -> None:
    root, commits = repo
    assert meta.commit_problem(root, commits[0], max_behind=2) is None
    assert meta.commit_problem(root, commits[0], max_behind=1) == "commit is 2 commits behind HEAD (allowed: 1)"
    assert meta.commit_problem(root, "f" * 40, 5) == "commit is not in this repository"
    assert meta.commit_problem(root, None, 5) == "no git commit recorded"
    _git(root, "checkout", "-q", "-b", "side", commits[0])
    (root / "g.txt").write_text("x")
    _git(root, "add", "g.txt")
    _git(root, "commit", "-q", "-m", "side")
    side = _git(root, "rev-parse", "HEAD")
    _git(root, "checkout", "-q", "-")
    assert meta.commit_problem(root, side, 5) == "commit is not in the history of HEAD"


def test_champion_models_and_cli(repo: tuple[Path, list[str]], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from mlflow.tracking import MlflowClient

    root, commits = repo
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for name, commit in (("fresh", commits[-1]), ("stale", commits[0]), ("unknown", "e" * 40)):
        client.create_registered_model(name)
        version = client.create_model_version(name, str(tmp_path), tags={"git_commit": commit})
        client.set_registered_model_alias(name, "champion", version.version)
    client.create_registered_model("no_alias")
    rows = meta.model_problems(root, ["fresh", "stale", "unknown", "no_alias"], max_behind=1, client=client)
    assert [(r["name"], r["problem"]) for r in rows] == [
        ("stale@champion (v1)", "commit is 2 commits behind HEAD (allowed: 1)"),
        ("unknown@champion (v1)", "commit is not in this repository"),
        ("no_alias@champion", "no version has alias @champion"),
    ]
    parser = argparse.ArgumentParser()
    meta.add_arguments(parser)
    file = _deployment(tmp_path / "d.yml", {"dev-a": commits[-1]})
    args = parser.parse_args(["--root", str(root), "--deployment", str(file), "--model", "fresh",
                              "--registry-uri", uri])
    assert meta.run_from_args(args) == {"status": "succeeded", "commit": commits[-1], "problems": []}
    args = parser.parse_args(["--root", str(root), "--deployment", str(file), "--model", "stale",
                              "--registry-uri", uri, "--max-commits-behind", "0"])
    summary = meta.run_from_args(args)
    assert summary["status"] == "failed"
    assert capsys.readouterr().out.splitlines()[-1].split() == [
        "model", "-", "stale@champion", "(v1)", commits[0][:12], "commit", "is", "2", "commits", "behind", "HEAD",
        "(allowed:", "0)"]


def _wheel(path: Path, commit: str | None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("gda_clv/__init__.py", "")
        if commit:
            archive.writestr("gda_clv/_build_info.py", f'"""Written at build time."""\nCOMMIT = "{commit}"\n')
    return path


def test_check_meta_fails_on_wheel_and_bundle_from_another_commit(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    """`make deploy` runs check-meta with --wheel: a wheel or bundle job from another commit fails the deploy."""
    from gda_clv.cli import main

    root, commits = repo
    head = commits[-1]
    deployment = _deployment(tmp_path / "d.yml", {"dev-a": head})
    bundle = tmp_path / "bundle"
    (bundle / "resources").mkdir(parents=True)
    job = {"name": "dev-a", "tags": {"git_commit": head}}
    resource = bundle / "resources" / "a.yml"
    resource.write_text(yaml.safe_dump({"targets": {"dev": {"resources": {"jobs": {"a": job}}}}}))
    base = ["check-meta", "--root", str(root), "--deployment", str(deployment), "--bundle-dir", str(bundle)]
    summary = tmp_path / "s.json"
    assert main([*base, "--wheel", str(_wheel(tmp_path / "ok.whl", head))]) == 0
    assert main([*base, "--wheel", str(_wheel(tmp_path / "old.whl", commits[0])), "--summary-json", str(summary)]) == 1
    assert json.loads(summary.read_text())["problems"] == [
        {"kind": "wheel", "environment": "-", "name": "old.whl", "commit": commits[0],
         "problem": f"wheel built from another commit (deploying {head[:12]})"}]
    assert main([*base, "--wheel", str(_wheel(tmp_path / "none.whl", None)), "--summary-json", str(summary)]) == 1
    assert json.loads(summary.read_text())["problems"][0]["problem"] == "wheel has no stamped commit"
    job["tags"]["git_commit"] = commits[1]
    resource.write_text(yaml.safe_dump({"targets": {"dev": {"resources": {"jobs": {"a": job}}}}}))
    assert main([*base, "--summary-json", str(summary)]) == 1
    assert json.loads(summary.read_text())["problems"] == [
        {"kind": "bundle job", "environment": "dev", "name": "dev-a", "commit": commits[1],
         "problem": f"bundle job from another commit (deploying {head[:12]})"}]


def test_env_models_are_the_environments_registered_models(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    """--env-models checks the champions of the environment's own models (here: none has @champion yet)."""
    from gda_clv.cli import main

    root, commits = repo
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    deployment = _deployment(tmp_path / "d.yml", {"a": commits[-1]})
    summary = tmp_path / "s.json"
    assert main(["check-meta", "--env", "local", "--root", str(root), "--deployment", str(deployment),
                 "--env-models", "--registry-uri", uri, "--summary-json", str(summary)]) == 1
    names = [row["name"] for row in json.loads(summary.read_text())["problems"]]
    assert names == ["clv_frequency@champion", "clv_monetary@champion"]


def test_a_deployment_file_that_is_not_a_mapping_names_the_file(tmp_path: Path) -> None:
    deployment = tmp_path / "deployment.yml"
    deployment.write_text("- just\n- a list\n")
    from gda_clv.errors import ConfigError

    with pytest.raises(ConfigError, match=f"^{deployment}: the top level must be a mapping of keys, got list$"):
        meta.deployment_problems(deployment, "abc")
