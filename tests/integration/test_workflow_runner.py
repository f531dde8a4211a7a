"""The local job runner: one process per task, depends_on, dynamic references, task values, timeouts, retries."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from gda_clv.cli import main

ROOT = Path(__file__).resolve().parents[2]

SCRIPTS = {
    # sets a task value and leaves a marker that only exists once it ran
    "writer.py": """
        import json, os, pathlib, sys, time
        time.sleep(1.0)
        pathlib.Path(os.environ["MARKER"]).write_text("written")
        pathlib.Path(os.environ["GDA_CLV_TASK_VALUES_FILE"]).write_text(json.dumps({"as_of": "1998-06-30", "n": 3}))
    """,
    # only works when writer ran first; records its argv
    "reader.py": """
        import json, os, pathlib, sys
        if not pathlib.Path(os.environ["MARKER"]).exists():
            sys.exit("reader: marker missing: the task that writes it has not run")
        pathlib.Path(os.environ["MARKER"] + ".argv").write_text(json.dumps(sys.argv[1:]))
    """,
    "sleeper.py": "import time; time.sleep(60)\n",
    # fails on its first attempt, succeeds on the second
    "flaky.py": """
        import os, pathlib, sys
        seen = pathlib.Path(os.environ["MARKER"] + ".flaky")
        if not seen.exists():
            seen.write_text("1")
            sys.exit(7)
    """,
}


def _templates(tmp_path: Path, tasks: list[dict[str, Any]], **workflow: Any) -> Path:
    for name, body in SCRIPTS.items():
        (tmp_path / name).write_text(textwrap.dedent(body))
    steps = {name[:-3]: {"entry_point": "unused", "python_file": str(tmp_path / name)} for name in SCRIPTS}
    templates = {"environments": ["dev"], "steps": steps,
                 "defaults": {"task_kind": "spark_python_task",
                              "task": {"max_retries": 0, "min_retry_interval_millis": 0, "timeout_seconds": 60}},
                 "workflows": {"wf": {"tasks": tasks, **workflow}}}
    path = tmp_path / "templates.yml"
    path.write_text(yaml.safe_dump(templates))
    return path


def _run(tmp_path: Path, tasks: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
         *extra: str, **workflow: Any) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("MARKER", str(tmp_path / "marker"))
    summary = tmp_path / "summary.json"
    code = main(["workflow", "run", "wf", "--target", "dev", "--env", "local", "--root", str(ROOT),
                 "--templates", str(_templates(tmp_path, tasks, **workflow)), "--runs-dir", str(tmp_path / "runs"),
                 "--summary-json", str(summary), *extra])
    return code, json.loads(summary.read_text())


def _by_key(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["task_key"]: t for t in summary["tasks"]}


READER_PARAMS = ["--job-run-id", "{{job.run_id}}", "--as-of", "{{tasks.writer.values.as_of}}",
                 "--day", "{{job.start_time.iso_date}}", "--name", "{{task.name}}"]


def test_undeclared_dependency_fails_naming_the_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    tasks = [{"task_key": "writer", "step": "writer"}, {"task_key": "reader", "step": "reader"}]
    code, summary = _run(tmp_path, tasks, monkeypatch)
    tasks_by_key = _by_key(summary)
    assert code == 1 and summary["status"] == "failed"
    assert tasks_by_key["reader"]["status"] == "failed" and tasks_by_key["writer"]["status"] == "succeeded"
    # started at the same time, as Databricks starts tasks without a dependency between them
    assert tasks_by_key["reader"]["started_at"] < tasks_by_key["writer"]["ended_at"]
    assert "marker missing" in Path(tasks_by_key["reader"]["log_path"]).read_text()
    out = capsys.readouterr().out
    assert any(line.startswith("[workflow] reader  failed") for line in out.splitlines())


def test_declared_dependency_passes_with_substituted_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    tasks = [{"task_key": "writer", "step": "writer"},
             {"task_key": "reader", "step": "reader", "depends_on": ["writer"], "parameters": READER_PARAMS}]
    code, summary = _run(tmp_path, tasks, monkeypatch, "--set", "data.freq=W")
    tasks_by_key = _by_key(summary)
    assert code == 0 and summary["status"] == "succeeded"
    writer, reader = tasks_by_key["writer"], tasks_by_key["reader"]
    assert reader["started_at"] >= writer["ended_at"]
    assert len({writer["pid"], reader["pid"], os.getpid()}) == 3
    argv = json.loads((tmp_path / "marker.argv").read_text())
    day = summary["tasks"][0]["started_at"][:10]
    assert argv == ["--env", "local", "--job-run-id", summary["run_id"], "--as-of", "1998-06-30",
                    "--day", day, "--name", "reader", "--set", "data.freq=W"]
    for key in ("workflow", "run_id", "status"):
        assert summary[key]
    for task in summary["tasks"]:
        assert {"task_key", "status", "exit_code", "pid", "started_at", "ended_at", "attempts", "log_path"} <= set(task)
    table = capsys.readouterr().out
    assert "task" in table and "duration" in table and "log" in table


def test_unresolvable_reference_fails_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = [{"task_key": "writer", "step": "writer"},
             {"task_key": "reader", "step": "reader", "depends_on": ["writer"],
              "parameters": ["--x", "{{tasks.writer.values.calibration_end}}"]}]
    code, summary = _run(tmp_path, tasks, monkeypatch)
    reader = _by_key(summary)["reader"]
    assert code == 1 and reader["status"] == "failed" and reader["pid"] is None
    assert "{{tasks.writer.values.calibration_end}}" in reader["error"]
    assert "task 'reader'" in Path(reader["log_path"]).read_text()


def test_timeout_kills_the_task_and_skips_downstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = [{"task_key": "sleeper", "step": "sleeper", "timeout_seconds": 1},
             {"task_key": "reader", "step": "reader", "depends_on": ["sleeper"]}]
    code, summary = _run(tmp_path, tasks, monkeypatch)
    sleeper, reader = _by_key(summary)["sleeper"], _by_key(summary)["reader"]
    assert code == 1
    assert sleeper["status"] == "timed_out" and sleeper["attempts"] == 1 and "timeout_seconds=1" in sleeper["error"]
    assert reader["status"] == "upstream_failed" and reader["attempts"] == 0 and reader["pid"] is None


def test_job_timeout_kills_running_tasks_and_cancels_the_rest(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = [{"task_key": "sleeper", "step": "sleeper", "max_retries": 2},
             {"task_key": "reader", "step": "reader", "depends_on": ["sleeper"]}]
    code, summary = _run(tmp_path, tasks, monkeypatch, timeout_seconds=1)
    sleeper, reader = _by_key(summary)["sleeper"], _by_key(summary)["reader"]
    assert code == 1 and summary["status"] == "timed_out"
    # the job's timeout is not retried, whatever the task's max_retries
    assert sleeper["status"] == "timed_out" and sleeper["attempts"] == 1
    assert "job timed out after timeout_seconds=1" in sleeper["error"]
    assert reader["status"] == "canceled" and reader["attempts"] == 0 and reader["pid"] is None


def test_retry_after_a_failed_attempt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = [{"task_key": "flaky", "step": "flaky", "max_retries": 1, "min_retry_interval_millis": 2000}]
    code, summary = _run(tmp_path, tasks, monkeypatch, "--retry-interval-scale", "0.25")
    flaky = _by_key(summary)["flaky"]
    assert code == 0 and flaky["status"] == "succeeded" and flaky["attempts"] == 2
    assert len(set(flaky["pids"])) == 2
    logs = sorted(p.name for p in Path(flaky["log_path"]).parent.glob("attempt-*.log"))
    assert logs == ["attempt-1.log", "attempt-2.log"]


def test_no_retry_left_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = [{"task_key": "flaky", "step": "flaky"}]
    code, summary = _run(tmp_path, tasks, monkeypatch)
    flaky = _by_key(summary)["flaky"]
    assert code == 1 and flaky["status"] == "failed" and flaky["exit_code"] == 7 and flaky["attempts"] == 1
