"""The one commit lookup: the commit stamped into the wheel at build time, else ``git``, else ``unknown``.

``setup.py`` writes ``gda_clv/_build_info.py`` (``COMMIT = "<sha>"``) into the wheel it builds; the file is never
committed. A ``python_wheel_task`` on Databricks has no git checkout, so the stamp is what it reports.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from gda_clv.errors import ConfigError

UNKNOWN = "unknown"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def stamped_commit() -> str | None:
    """The commit written into the installed wheel by setup.py, or None (source checkout, editable install)."""
    try:
        from gda_clv import _build_info  # type: ignore[attr-defined]
    except ImportError:
        return None
    return str(getattr(_build_info, "COMMIT", "") or "") or None


def git_head(root: str | Path) -> str | None:
    """``git rev-parse HEAD`` in ``root``, or None when that is no git checkout (or git is missing)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def get_commit_id(dbutils: Any = None, repo_dir: str | Path | None = None) -> str:
    """Commit of the running code: the wheel's stamp, else the Databricks job/notebook context of a git source
    (``mlflowGitRepoCommit`` / ``mlflowGitCommit``), else git in ``repo_dir`` (default: the checkout holding this
    package), else ``unknown``."""
    return (stamped_commit() or (_databricks_commit(dbutils) if dbutils is not None else None)
            or git_head(repo_dir if repo_dir is not None else PACKAGE_DIR.parent) or UNKNOWN)


def _databricks_commit(dbutils: Any) -> str | None:
    try:
        context = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
    except Exception:
        return None
    try:
        return str(context.mlflowGitRepoCommit().get())
    except Exception:
        pass
    try:
        option = context.extraContext().get("mlflowGitCommit")
        return str(option.get()) if option.isDefined() else None
    except Exception:
        return None


def require_git_head(root: Path) -> str:
    """HEAD of the repository being deployed; ConfigError when ``root`` is not a git checkout with commits."""
    commit = git_head(root)
    if commit is None:
        raise ConfigError(f"cannot read the git commit of {root}: not a git repository with commits; pass --commit")
    return commit
