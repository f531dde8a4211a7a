"""Structural checks of a rendered workflow that neither dbx nor the Jobs API models make."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gda_clv.utils.dbx_utils import TASK_KINDS, depends_on_keys, task_keys
from gda_clv.utils.job_templates_scheduler_gen import quartz_error

PAUSE_STATUSES = ("PAUSED", "UNPAUSED")


def _cycle(workflow: Mapping[str, Any]) -> list[str] | None:
    """One dependency cycle as a path of task keys, or None."""
    graph = {t.get("task_key"): list(depends_on_keys(t)) for t in workflow.get("tasks", [])}
    state: dict[str, int] = {}

    def visit(key: str, path: list[str]) -> list[str] | None:
        state[key] = 1
        for dep in graph.get(key, []):
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep] if dep in path else [key, dep]
            if dep in graph and not state.get(dep):
                found = visit(dep, [*path, dep])
                if found:
                    return found
        state[key] = 2
        return None

    for key in graph:
        if not state.get(key):
            found = visit(key, [key])
            if found:
                return found
    return None


def _task_errors(where: str, task: Mapping[str, Any], keys: list[str], clusters: set[str],
                 entry_points: set[str], root: Path) -> Iterable[str]:
    where = f"{where}, task '{task.get('task_key')}'"
    for dep in depends_on_keys(task):
        if dep not in keys:
            yield f"{where}, field depends_on: '{dep}' is not a task of this workflow (tasks: {', '.join(keys)})"
    cluster = task.get("job_cluster_key")
    if cluster is not None and cluster not in clusters:
        yield (f"{where}, field job_cluster_key: '{cluster}' is not defined in job_clusters "
               f"(defined: {', '.join(sorted(clusters)) or 'none'})")
    wheel = task.get("python_wheel_task")
    if wheel and wheel.get("entry_point") not in entry_points:
        yield (f"{where}, field python_wheel_task.entry_point: '{wheel.get('entry_point')}' is not a console "
               f"script in setup.py (declared: {', '.join(sorted(entry_points))})")
    script = task.get("spark_python_task")
    if script:
        rel = str(script.get("python_file", "")).removeprefix("file://")
        if not (root / rel).is_file():
            yield f"{where}, field spark_python_task.python_file: {rel} does not exist under {root}"
    if not any(kind in task for kind in TASK_KINDS):
        yield f"{where}: needs one of {', '.join(TASK_KINDS)}"


def structure_errors(workflow: Mapping[str, Any], root: Path, entry_points: set[str]) -> list[str]:
    """Checks neither dbx nor the Jobs API models do; each error names the workflow, the task and the field."""
    where = f"workflow '{workflow.get('name')}'"
    keys = task_keys(workflow)
    clusters = {c.get("job_cluster_key") for c in workflow.get("job_clusters", [])}
    errors = [e for t in workflow.get("tasks", []) for e in _task_errors(where, t, keys, clusters, entry_points, root)]
    cycle = _cycle(workflow)
    if cycle:
        errors.append(f"{where}, field depends_on: tasks form a cycle: {' -> '.join(cycle)}")
    schedule = workflow.get("schedule") or {}
    if schedule:
        if schedule.get("pause_status") not in PAUSE_STATUSES:
            errors.append(f"{where}, field schedule.pause_status: '{schedule.get('pause_status')}' is not "
                          f"PAUSED or UNPAUSED")
        reason = quartz_error(schedule.get("quartz_cron_expression", ""))
        if reason:
            errors.append(f"{where}, field schedule.quartz_cron_expression: "
                          f"'{schedule.get('quartz_cron_expression')}' is not valid Quartz syntax: {reason}")
    return errors


