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
