"""The run page in text: one line per task state change and a table at the end."""
from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

COLUMNS = ("task", "state", "attempt", "start", "duration", "exit", "log")


class TaskLike(Protocol):
    """What the run page reads of a task: its key, state, attempts, times, exit code and log."""

    key: str
    status: str
    attempts: int
    exit_code: int | None
    started_at: float | None
    ended_at: float | None
    log_path: Any
    error: str | None


def _row(task: TaskLike) -> tuple[str, ...]:
    start = datetime.fromtimestamp(task.started_at).strftime("%H:%M:%S") if task.started_at else "-"
    end = task.ended_at or (time.time() if task.started_at else None)
    duration = f"{end - task.started_at:.1f}s" if end and task.started_at else "-"
    code = "-" if task.exit_code is None else str(task.exit_code)
    return (task.key, task.status, str(task.attempts), start, duration, code, str(task.log_path or "-"))


def print_event(task: TaskLike) -> None:
    """One line when a task changes state; failures carry their reason."""
    line = "  ".join(_row(task))
    if task.error and task.status != "running":
        line += f"  ({task.error})"
    print(f"[workflow] {line}", flush=True)


def print_table(tasks: Iterable[TaskLike]) -> None:
    """The final run page."""
    rows = [COLUMNS, *(_row(t) for t in tasks)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), flush=True)
