"""A new user's own CSV (2023-2025 dates, nothing else configured) runs end to end on the first try."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gda_clv.data.synthetic import generate_transactions

pytestmark = pytest.mark.slow  # one whole pipeline run in its own process

PARAMS = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "v": 15.0}


def test_own_csv_runs_end_to_end_with_only_path_and_format(tmp_path: Path) -> None:
    log = generate_transactions(400, PARAMS, "2023-01-01", "2025-06-30", seed=7)
    csv = tmp_path / "my_transactions.csv"
    log.assign(transaction_date=log["transaction_date"].dt.strftime("%Y-%m-%d")).to_csv(csv, index=False)
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gda-clv")), "run", "--env", "local",
         "--set", f"data.source.path={csv}", "--set", "data.source.format=csv",
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
