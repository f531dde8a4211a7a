"""The gda-clv command line: help, dispatch and user-error handling."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gda_clv.cli import PIPELINE_STEPS, TOOL_COMMANDS, main


def test_help_lists_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for step in [*PIPELINE_STEPS, *TOOL_COMMANDS]:
        assert step in out


def test_step_help_explains_the_common_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    out = capsys.readouterr().out
    for flag in ("--env", "--conf-file", "--set", "--summary-json"):
        assert flag in out


def test_user_error_exits_2_with_the_message_and_a_failed_summary(tmp_path: Path) -> None:
    summary = tmp_path / "out" / "summary.json"
    code = main(["prepare", "--env", "local", "--set", "data.freq=Q", "--summary-json", str(summary)])
    assert code == 2
    written = json.loads(summary.read_text())
    assert written["step"] == "prepare" and written["status"] == "failed"
    assert "'data.freq' must be one of 'D', 'W' or 'M', got 'Q'" in written["error"]


def test_python_dash_m_is_the_same_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "gda_clv", "--version"], capture_output=True, text=True, check=True)
    from gda_clv import __version__

    assert result.stdout.strip() == f"gda_clv {__version__}"


def test_internal_error_is_one_line_with_the_detail_in_a_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gda_clv.pipelines import prepare

    def broken(ctx: object) -> dict:
        raise KeyError("a bug")

    monkeypatch.setattr(prepare, "run", broken)
    monkeypatch.setattr("gda_clv.utils.common.JobContext", lambda **kwargs: None)
    summary = tmp_path / "summary.json"
    code = main(["prepare", "--set", f"runtime.state_dir={tmp_path}", "--summary-json", str(summary)])
    assert code == 1
    written = json.loads(summary.read_text())
    assert written["status"] == "failed" and written["error"] == "internal error KeyError: 'a bug'"
    detail = Path(written["log_path"]).read_text()
    assert detail.startswith("Traceback") and "raise KeyError" in detail
    assert "Traceback" not in capsys.readouterr().err


def test_a_databricks_env_on_a_laptop_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from gda_clv.errors import ConfigError
    from gda_clv.utils.common import JobContext

    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    with pytest.raises(ConfigError, match="not on a Databricks cluster.*--env local"):
        JobContext(env="dev")
