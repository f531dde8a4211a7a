"""The one commit lookup: the wheel's stamp, the Databricks context of a git source, git, else ``unknown``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gda_clv.utils.commit import get_commit_id


def test_commit_id_from_git(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[3]
    expected = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert get_commit_id(repo_dir=repo) == expected
    assert get_commit_id(repo_dir=tmp_path) == "unknown"  # not a git checkout


class _Option:
    def __init__(self, value: str | None) -> None:
        self._value = value

    def isDefined(self) -> bool:  # noqa: N802 (py4j Option API)
        return self._value is not None

    def get(self) -> str:
        return self._value


class _Context:
    """The shape of Databricks' CommandContext for a job with a git source (no mlflowGitRepoCommit method)."""

    def extraContext(self):  # noqa: N802
        return {"mlflowGitCommit": _Option("c0ffee")}


class _Dbutils:
    class notebook:  # noqa: N801
        class entry_point:  # noqa: N801
            @staticmethod
            def getDbutils():  # noqa: N802
                class _Nb:
                    def notebook(self):
                        class _Ctx:
                            def getContext(self):
                                return _Context()

                        return _Ctx()

                return _Nb()


def test_commit_id_from_databricks_context(tmp_path: Path) -> None:
    assert get_commit_id(dbutils=_Dbutils(), repo_dir=tmp_path) == "c0ffee"


def test_stamped_commit_wins_over_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed wheel reports the commit setup.py stamped into it, even where git would answer."""
    import types

    repo = Path(__file__).resolve().parents[3]
    monkeypatch.setitem(sys.modules, "gda_clv._build_info", types.SimpleNamespace(COMMIT="ab" * 20))
    assert get_commit_id(repo_dir=repo) == "ab" * 20
    assert get_commit_id(dbutils=_Dbutils(), repo_dir=repo) == "ab" * 20
