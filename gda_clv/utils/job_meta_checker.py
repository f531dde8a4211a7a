"""Pre-deployment commit checks: deployment.yml, the bundle, the wheel and ``@champion`` versions against the code.

1. Every workflow of every environment in conf/deployment.yml and every job of conf/bundle/resources carries
   ``tags.git_commit`` equal to the commit being deployed (stale if job-gen was not re-run).
2. The wheel being deployed (``--wheel``) carries that commit, stamped by setup.py at build time.
3. For each registered model given (``--model``, or ``--env-models``: the environment's two models), the
   ``@champion`` version's commit (model-version tag ``git_commit``, else its run's ``mlflow.source.git.commit``)
   must be in the repository's history and at most ``max_commits_behind`` commits behind HEAD.

``gda-clv check-meta`` prints a table of what is stale and returns ``status: failed`` (exit code 1) if anything is.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.commit import require_git_head
from gda_clv.utils.config_utils import load_yaml

COMMIT_TAG = "git_commit"
RUN_COMMIT_TAG = "mlflow.source.git.commit"
COLUMNS = ("kind", "environment", "name", "commit", "problem")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def commit_problem(root: Path, commit: str | None, max_behind: int) -> str | None:
    """Why ``commit`` is stale relative to HEAD of ``root``, or None when it is recent enough."""
    if not commit:
        return "no git commit recorded"
    if _git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        return "commit is not in this repository"
    if _git(root, "merge-base", "--is-ancestor", commit, "HEAD").returncode != 0:
        return "commit is not in the history of HEAD"
    behind = int(_git(root, "rev-list", "--count", f"{commit}..HEAD").stdout.strip())
    if behind > max_behind:
        return f"commit is {behind} commits behind HEAD (allowed: {max_behind})"
    return None


def deployment_problems(deployment_file: Path, commit: str) -> list[dict[str, str]]:
    """Workflows in ``deployment_file`` whose ``tags.git_commit`` is not ``commit``.

    Raises ConfigError when the deployment file cannot be read.
    """
    if not deployment_file.is_file():
        raise ConfigError(f"{deployment_file} does not exist; run `gda-clv job-gen` first")
    content = load_yaml(deployment_file)
    rows = []
    for env, spec in (content.get("environments") or {}).items():
        for workflow in (spec or {}).get("workflows", []):
            found = (workflow.get("tags") or {}).get(COMMIT_TAG)
            if found != commit:
                problem = f"generated from another commit (deploying {commit[:12]})" if found else "no git_commit tag"
                rows.append({"kind": "workflow", "environment": env, "name": workflow.get("name", "?"),
                             "commit": str(found or "-"), "problem": problem})
    return rows


def bundle_problems(bundle_dir: Path, commit: str) -> list[dict[str, str]]:
    """Jobs in ``<bundle_dir>/resources/*.yml`` whose ``tags.git_commit`` is not ``commit``."""
    rows = []
    for path in sorted((bundle_dir / "resources").glob("*.yml")):
        content = load_yaml(path)
        for env, target in (content.get("targets") or {}).items():
            for key, job in ((target or {}).get("resources", {}).get("jobs") or {}).items():
                found = (job.get("tags") or {}).get(COMMIT_TAG)
                if found != commit:
                    problem = f"bundle job from another commit (deploying {commit[:12]})" if found else \
                        "no git_commit tag"
                    rows.append({"kind": "bundle job", "environment": env, "name": job.get("name", key),
                                 "commit": str(found or "-"), "problem": problem})
    return rows


def wheel_commit(wheel: Path) -> str | None:
    """The commit setup.py stamped into ``wheel`` (gda_clv/_build_info.py), or None.

    Raises ConfigError when the wheel file does not exist.
    """
    if not wheel.is_file():
        raise ConfigError(f"--wheel {wheel}: no such file; build it with `make wheel`")
    with zipfile.ZipFile(wheel) as archive:
        try:
            source = archive.read("gda_clv/_build_info.py").decode()
        except KeyError:
            return None
    match = re.search(r'^COMMIT = "([0-9a-f]{7,40})"$', source, re.MULTILINE)
    return match.group(1) if match else None


def wheel_problems(wheel: Path, commit: str) -> list[dict[str, str]]:
    """A row when the wheel's stamped commit is missing or is not ``commit``."""
    found = wheel_commit(wheel)
    if found == commit:
        return []
    problem = f"wheel built from another commit (deploying {commit[:12]})" if found else "wheel has no stamped commit"
    return [{"kind": "wheel", "environment": "-", "name": wheel.name, "commit": found or "-", "problem": problem}]


def model_problems(root: Path, models: list[str], max_behind: int, alias: str = "champion",
                   client: Any = None) -> list[dict[str, str]]:
    """``name@alias`` versions whose commit is unknown, not in history, or too old."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = client or MlflowClient()
    rows = []
    for name in models:
        try:
            version = client.get_model_version_by_alias(name, alias)
        except MlflowException:
            rows.append({"kind": "model", "environment": "-", "name": f"{name}@{alias}", "commit": "-",
                         "problem": f"no version has alias @{alias}"})
            continue
        commit = version.tags.get(COMMIT_TAG)
        if not commit and version.run_id:
            commit = client.get_run(version.run_id).data.tags.get(RUN_COMMIT_TAG)
        problem = commit_problem(root, commit, max_behind)
        if problem:
            rows.append({"kind": "model", "environment": "-", "name": f"{name}@{alias} (v{version.version})",
                         "commit": commit or "-", "problem": problem})
    return rows


def format_table(rows: list[dict[str, str]]) -> str:
    """Plain-text table of problem rows (commits shortened to 12 characters)."""
    shown = [{**r, "commit": r["commit"][:12]} for r in rows]
    widths = {c: max([len(c)] + [len(r[c]) for r in shown]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip() for r in shown]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `gda-clv check-meta`."""
    parser.add_argument("--root", type=Path, default=Path("."), help="git repository of the code (default: .)")
    parser.add_argument("--deployment", type=Path, help="default: ROOT/conf/deployment.yml")
    parser.add_argument("--commit", help="commit being deployed (default: HEAD of ROOT)")
    parser.add_argument("--bundle-dir", type=Path, help="default: ROOT/conf/bundle (skipped when missing)")
    parser.add_argument("--wheel", type=Path, help="the wheel being deployed: its stamped commit must match")
    parser.add_argument("--model", action="append", default=[], metavar="NAME",
                        help="registered model whose champion version to check (repeatable)")
    parser.add_argument("--env-models", action="store_true",
                        help="also check the champion versions of --env's frequency and monetary models")
    parser.add_argument("--alias", default="champion", help="model alias to check (default: champion)")
    parser.add_argument("--registry-uri", help="MLflow registry URI (default: MLflow's own setting)")
    parser.add_argument("--max-commits-behind", type=int, default=50,
                        help="a model trained more commits ago than this is stale (default: 50)")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """`gda-clv check-meta`: prints the table; summary ``status`` is "failed" (exit code 1) when anything is stale."""
    commit = args.commit or require_git_head(args.root)
    rows = deployment_problems(args.deployment or args.root / "conf" / "deployment.yml", commit)
    bundle_dir = args.bundle_dir or args.root / "conf" / "bundle"
    if bundle_dir.is_dir():
        rows += bundle_problems(bundle_dir, commit)
    if args.wheel:
        rows += wheel_problems(args.wheel, commit)
    if args.env_models:
        from gda_clv.utils.config_utils import load_config
        from gda_clv.utils.workspace_paths import registered_model_name

        config = load_config(args.env)
        args.model = [*args.model, *(registered_model_name(config, kind) for kind in ("frequency", "monetary"))]
    if args.model:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(registry_uri=args.registry_uri) if args.registry_uri else MlflowClient()
        rows += model_problems(args.root, args.model, args.max_commits_behind, args.alias, client)
    print(format_table(rows) if rows else f"all workflows and models match commit {commit[:12]}")
    return {"status": "failed" if rows else "succeeded", "commit": commit, "problems": rows}
