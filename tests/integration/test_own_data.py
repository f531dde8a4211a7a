"""A new user's own CSV (2023-2025 dates) runs end to end on the first try, exactly as `--help` shows it."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gda_clv.cli import OWN_DATA_HELP
from gda_clv.data.synthetic import generate_transactions

pytestmark = pytest.mark.slow  # one whole pipeline run in its own process

PARAMS = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "v": 15.0}


def _help_example(csv: Path) -> list[str]:
    """The worked example printed by `gda-clv <step> --help`, pointed at ``csv``."""
    lines = OWN_DATA_HELP.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("gda-clv "))
    end = next(i for i in range(start, len(lines)) if not lines[i].endswith("\\"))
    args = shlex.split(" ".join(line.rstrip("\\") for line in lines[start:end + 1]))
    assert args[:2] == ["gda-clv", "run"]
    return [arg.replace("/data/orders.csv", str(csv)) for arg in args[1:]]


def test_own_csv_runs_end_to_end_as_the_help_shows(tmp_path: Path) -> None:
    log = generate_transactions(400, PARAMS, "2023-01-01", "2025-06-30", seed=7)
    csv = tmp_path / "orders.csv"
    own = log.rename(columns={"customer_id": "client", "transaction_date": "order_day", "amount": "total"})
    own.assign(order_day=own["order_day"].dt.strftime("%d/%m/%Y")).to_csv(csv, index=False, sep=";")
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gda-clv")), *_help_example(csv),
         "--set", f"runtime.state_dir={tmp_path / 'state'}",
         "--set", "model.frequency.tuning.max_evals=0", "--set", "model.monetary.tuning.max_evals=0",
         "--summary-json", str(summary_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    last = log["transaction_date"].max().date().isoformat()
    assert summary["prepare"]["as_of"] == last  # observation end = the last clean date of the user's data
    assert summary["prepare"]["quarantined"]["total"] == 0
    assert summary["project"]["customers_scored"] == log["customer_id"].nunique()


def test_own_csv_with_our_column_names_runs_with_just_path_and_format(tmp_path: Path) -> None:
    """The issue's "done when": ``gda-clv run --env local --set data.source.path=F --set data.source.format=csv``
    on a CSV with 2023-2025 ISO dates and nothing else set (default tuning), from a project folder of the user's."""
    log = generate_transactions(300, PARAMS, "2023-01-01", "2025-06-30", seed=11)
    csv = tmp_path / "orders.csv"
    log.assign(channel="web").to_csv(csv, index=False)  # an extra, unmapped column is fine
    project = tmp_path / "project"
    shutil.copytree(Path(__file__).resolve().parents[2] / "conf", project / "conf")  # state anchors here
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gda-clv")), "run", "--env", "local",
         "--set", f"data.source.path={csv}", "--set", "data.source.format=csv", "--summary-json", str(summary_path)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
        env={**os.environ, "GDA_CLV_CONF_DIR": str(project / "conf")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["prepare"]["as_of"] == log["transaction_date"].max().date().isoformat()
    assert summary["prepare"]["quarantined"]["total"] == 0 and summary["prepare"]["excluded"] == {}
    assert summary["project"]["customers_scored"] == log["customer_id"].nunique()
    assert (project / ".gda_clv").is_dir()
