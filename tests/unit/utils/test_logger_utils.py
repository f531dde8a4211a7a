"""log_phase: start line, "done in" or "failed after", timings; the kill-at-phase drill hook."""
from __future__ import annotations

import logging
import signal
import subprocess
import sys

import pytest

from gda_clv.utils.logger_utils import KILL_AT_PHASE_ENV_VAR, get_logger, log_phase


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


@pytest.fixture()
def logger(caplog: pytest.LogCaptureFixture) -> logging.Logger:
    log = get_logger("gda_clv.test_phase")
    log.parent.propagate = True  # let caplog see gda_clv's records
    yield log
    log.parent.propagate = False


def test_phase_done(logger: logging.Logger, caplog: pytest.LogCaptureFixture) -> None:
    timings: dict[str, float] = {}
    with caplog.at_level(logging.INFO, logger="gda_clv"), log_phase(logger, "fit", timings):
        pass
    assert _messages(caplog)[0] == "fit ..." and _messages(caplog)[1].startswith("fit done in ")
    assert set(timings) == {"fit"}


def test_phase_that_raised_says_failed(logger: logging.Logger, caplog: pytest.LogCaptureFixture) -> None:
    timings: dict[str, float] = {}
    with caplog.at_level(logging.INFO, "gda_clv"), pytest.raises(ValueError), log_phase(logger, "write", timings):
        raise ValueError("boom")
    assert _messages(caplog)[-1].startswith("write failed after ")
    assert not any("done in" in message for message in _messages(caplog))
    assert "write" in timings


def test_kill_at_phase_kills_the_process() -> None:
    code = (
        "from gda_clv.utils.logger_utils import get_logger, log_phase\n"
        "log = get_logger('gda_clv.drill')\n"
        "with log_phase(log, 'prepare: read'):\n    pass\n"
        "with log_phase(log, 'prepare: write features'):\n    print('NOT REACHED')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={KILL_AT_PHASE_ENV_VAR: "write features", "PATH": "/usr/bin:/bin"})
    assert result.returncode == -signal.SIGKILL
    assert "NOT REACHED" not in result.stdout and "prepare: read done in" in result.stderr
