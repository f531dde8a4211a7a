"""Run one rendered workflow locally as a Databricks job run: one OS process per task, in ``depends_on`` order."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from gda_clv.errors import ConfigError
from gda_clv.utils.dbx_utils import JobFactory, depends_on_keys
from gda_clv.utils.job_gen import load_settings, load_templates
from gda_clv.workflow.run_page import print_event, print_table
from gda_clv.workflow.substitution import job_references, substitute, task_value_references

TERMINAL = {"succeeded", "failed", "timed_out", "upstream_failed", "canceled"}
TASK_VALUES_ENV = "GDA_CLV_TASK_VALUES_FILE"


@dataclass
class TaskRun:
    """One task of the run: its rendered spec and what happened to it."""

    key: str
    spec: Mapping[str, Any]
    deps: list[str]
    status: str = "pending"
    attempts: int = 0
    exit_code: int | None = None
    pid: int | None = None
    pids: list[int] = field(default_factory=list)
    started_at: float | None = None
    ended_at: float | None = None
    log_path: Path | None = None
    error: str | None = None
    not_before: float = 0.0
    deadline: float | None = None
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    def summary(self) -> dict[str, Any]:
        """The task's entry in the run summary JSON."""
        return {"task_key": self.key, "status": self.status, "exit_code": self.exit_code, "pid": self.pid,
                "pids": self.pids, "started_at": _iso(self.started_at), "ended_at": _iso(self.ended_at),
                "attempts": self.attempts, "log_path": str(self.log_path) if self.log_path else None,
                "error": self.error}


@dataclass
class WorkflowRun:
    """A local job run of a rendered workflow dict."""

    workflow: Mapping[str, Any]
    env: str
    root: Path
    runs_dir: Path
    overrides: Sequence[str] = ()
    retry_interval_scale: float = 1.0
    run_id: str = field(default_factory=lambda: str(uuid.uuid4().int % 10**12))
    poll_seconds: float = 0.05

    def __post_init__(self) -> None:
        self.run_dir = self.runs_dir / self.run_id
        self.tasks = {t["task_key"]: TaskRun(t["task_key"], t, list(depends_on_keys(t)))
                      for t in self.workflow.get("tasks", [])}
        for task in self.tasks.values():
            unknown = [d for d in task.deps if d not in self.tasks]
            if unknown:
                raise ConfigError(f"task '{task.key}': depends_on names unknown task(s) {unknown}")
        self.start = datetime.now(timezone.utc)
        self.references = job_references(self.run_id, str(self.workflow.get("name", "")), self.start)
        self.task_values: dict[str, dict[str, Any]] = {}
        self.timeout = int(self.workflow.get("timeout_seconds") or 0)
        self.timed_out = False

    def run(self) -> dict[str, Any]:
        """Run every task to a terminal state; the run summary (status failed when any task did not succeed).

        A job-level ``timeout_seconds`` ends the run as Databricks does: running tasks are killed (timed_out),
        tasks not started are canceled, and the run's status is timed_out.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        started = time.time()
        while not all(t.status in TERMINAL for t in self.tasks.values()):
            if self.timeout > 0 and time.time() - started > self.timeout:
                self._time_out_job()
                break
            for task in self.tasks.values():
                if task.status == "running":
                    self._check(task)
            for task in self.tasks.values():
                if task.status in ("pending", "waiting_retry"):
                    self._maybe_start(task)
            time.sleep(self.poll_seconds)
        print_table(self.tasks.values())
        ok = all(t.status == "succeeded" for t in self.tasks.values())
        status = "timed_out" if self.timed_out else "succeeded" if ok else "failed"
        return {"workflow": self.workflow.get("name"), "run_id": self.run_id, "status": status,
                "run_dir": str(self.run_dir), "tasks": [t.summary() for t in self.tasks.values()]}

    def _time_out_job(self) -> None:
        self.timed_out = True
        reason = f"job timed out after timeout_seconds={self.timeout}"
        for task in self.tasks.values():
            if task.status == "running":
                assert task.process is not None
                _kill(task.process)
                self._finish(task, "timed_out", task.process.wait(), reason, retry=False)
            elif task.status not in TERMINAL:
                task.status, task.error = "canceled", reason
                print_event(task)

    def _maybe_start(self, task: TaskRun) -> None:
        states = [self.tasks[d].status for d in task.deps]
        if any(s in TERMINAL - {"succeeded"} for s in states):
            task.status, task.error = "upstream_failed", f"upstream task(s) did not succeed: {task.deps}"
            print_event(task)
        elif all(s == "succeeded" for s in states) and time.time() >= task.not_before:
            self._start(task)

    def _start(self, task: TaskRun) -> None:
        task.attempts += 1
        task_dir = self.run_dir / task.key
        task_dir.mkdir(parents=True, exist_ok=True)
        task.log_path = task_dir / f"attempt-{task.attempts}.log"
        task.log = task.log_path.open("wb")
        task.started_at, task.ended_at, task.exit_code = time.time(), None, None
        try:
            argv = self.command(task)
        except ConfigError as exc:
            task.log.write(f"{exc}\n".encode())
            self._finish(task, "failed", None, str(exc))
            return
        task.log.write(f"$ {' '.join(argv)}\n".encode())
        task.log.flush()
        env = {**os.environ, TASK_VALUES_ENV: str(task_dir / "task_values.json"), "PYTHONUNBUFFERED": "1"}
        task.process = subprocess.Popen(argv, stdout=task.log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        task.pid = task.process.pid
        task.pids.append(task.pid)
        timeout = int(task.spec.get("timeout_seconds") or 0)
        task.deadline = task.started_at + timeout if timeout > 0 else None
        task.status = "running"
        print_event(task)

    def command(self, task: TaskRun) -> list[str]:
        """argv of the task's process, as its task type starts on Databricks, with references resolved.

        Raises ConfigError for a task kind that does not run locally, an entry point that is not installed or a
        reference that cannot be resolved.
        """
        references = {**self.references, **task_value_references(self.task_values),
                      "task.name": task.key, "run_id": f"{self.run_id}-{task.key}-{task.attempts}"}
        if "python_wheel_task" in task.spec:
            body = task.spec["python_wheel_task"]
            head = [_entry_point(body["entry_point"])]
        elif "spark_python_task" in task.spec:
            body = task.spec["spark_python_task"]
            path = Path(str(body["python_file"]).removeprefix("file://"))
            head = [sys.executable, str(path if path.is_absolute() else self.root / path)]
        else:
            raise ConfigError(f"task '{task.key}': only python_wheel_task and spark_python_task run locally")
        params = [substitute(str(p), references, task.key) for p in body.get("parameters", [])]
        return head + _swap_env(params, self.env) + [a for o in self.overrides for a in ("--set", o)]

    def _check(self, task: TaskRun) -> None:
        assert task.process is not None
        code = task.process.poll()
        if code is None:
            if task.deadline is not None and time.time() > task.deadline:
                _kill(task.process)
                self._finish(task, "timed_out", task.process.wait(),
                             f"timed out after timeout_seconds={task.spec.get('timeout_seconds')}")
            return
        if code == 0:
            error = self._read_task_values(task)
            self._finish(task, "failed" if error else "succeeded", code, error)
        else:
            self._finish(task, "failed", code, f"exit code {code}; see {task.log_path}")

    def _read_task_values(self, task: TaskRun) -> str | None:
        path = self.run_dir / task.key / "task_values.json"
        if not path.exists():
            return None
        try:
            values = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            return f"task values file {path} is not JSON: {exc}"
        if not isinstance(values, dict):
            return f"task values file {path} must hold a JSON object"
        self.task_values[task.key] = values
        return None

    def _finish(self, task: TaskRun, status: str, code: int | None, error: str | None, retry: bool = True) -> None:
        task.ended_at, task.exit_code, task.error = time.time(), code, error
        if task.log:
            task.log.close()
        retries = int(task.spec.get("max_retries") or 0)
        retryable = status == "failed" or (status == "timed_out" and task.spec.get("retry_on_timeout"))
        if retry and retryable and code is not None and (retries < 0 or task.attempts <= retries):
            interval = int(task.spec.get("min_retry_interval_millis") or 0) / 1000 * self.retry_interval_scale
            task.status, task.not_before = "waiting_retry", time.time() + interval
        else:
            task.status = status
        print_event(task)


def _entry_point(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise ConfigError(f"python_wheel_task entry point '{name}' is not installed in {sys.prefix}; "
                          "install the wheel (make env or pip install -e .)")
    return found


def _swap_env(params: list[str], env: str) -> list[str]:
    """The task's ``--env <target>`` replaced by the runner's ``--env``."""
    out = list(params)
    for i, value in enumerate(out[:-1]):
        if value == "--env":
            out[i + 1] = env
    return out


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds") if ts else None


def render_workflow(root: Path, templates: Path, conf_dir: Path, target: str, name: str) -> dict[str, Any]:
    """WORKFLOW as job-gen renders it for ``target``, built in memory from the templates.

    Raises ConfigError for an unknown workflow or target.
    """
    loaded = load_templates(templates)
    if name not in loaded["workflows"]:
        raise ConfigError(f"workflow '{name}' is not in {templates}; known: {sorted(loaded['workflows'])}")
    return JobFactory(loaded, target, load_settings(conf_dir, target), "local").build(name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``gda-clv workflow run``."""
    parser.add_argument("action", choices=["run"], help="run: run the workflow's tasks locally")
    parser.add_argument("workflow", help="workflow key in conf/templates.yml, e.g. clv-training")
    parser.add_argument("--target", default="dev", help="environment whose rendered deployment is run (default dev)")
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (conf/, job files)")
    parser.add_argument("--templates", type=Path, help="default: ROOT/conf/templates.yml")
    parser.add_argument("--environments-dir", type=Path, help="default: ROOT/conf/environments")
    parser.add_argument("--runs-dir", type=Path, default=Path(".gda_clv") / "workflow_runs",
                        help="logs go to RUNS_DIR/<run_id>/<task_key>/attempt-N.log (default .gda_clv/workflow_runs)")
    parser.add_argument("--retry-interval-scale", type=float, default=1.0, metavar="F",
                        help="multiply each task's min_retry_interval_millis by F for local runs "
                             "(default 1 = as Databricks; e.g. 0.001 turns 5 minutes into 0.3 s)")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """``gda-clv workflow run``: the run summary; status failed (exit 1) when a task did not succeed.

    Raises ConfigError for --conf-file (not passed to tasks), an unknown workflow or a bad templates file.
    """
    if args.conf_file:
        raise ConfigError("workflow run: --conf-file is not passed to tasks; use --set key=value")
    root = args.root.resolve()
    workflow = render_workflow(root, args.templates or root / "conf" / "templates.yml",
                               args.environments_dir or root / "conf" / "environments", args.target, args.workflow)
    return WorkflowRun(workflow, args.env, root, args.runs_dir.resolve(), tuple(args.overrides),
                       retry_interval_scale=args.retry_interval_scale).run()
