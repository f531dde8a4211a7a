"""Build dbx 0.8 workflow dicts from conf/templates.yml + one environment: reorder_dict, remove_task, JobFactory.

A workflow dict here is a Jobs API 2.1 job settings dict plus dbx's ``access_control_list``; ``to_bundle_job``
turns it into the Asset Bundle form (``permissions``), so both outputs come from the same dicts.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.config_schema import DeployableConfig

# Keys first in this order (readable diffs); any other key follows in alphabetical order.
KEY_ORDER = (
    "name", "task_key", "job_cluster_key", "description", "depends_on", "tags", "schedule",
    "quartz_cron_expression", "timezone_id", "pause_status", "email_notifications", "webhook_notifications",
    "max_concurrent_runs",
    "timeout_seconds", "max_retries", "min_retry_interval_millis", "retry_on_timeout", "access_control_list",
    "permissions", "python_wheel_task", "spark_python_task", "package_name", "entry_point", "python_file",
    "parameters", "libraries", "new_cluster", "spark_version", "node_type_id", "num_workers", "autoscale",
    "job_clusters", "tasks", "user_name", "group_name", "service_principal_name", "principal", "level",
    "min_workers", "max_workers",
)
_RANK = {key: rank for rank, key in enumerate(KEY_ORDER)}
TASK_KINDS = ("python_wheel_task", "spark_python_task")


def reorder_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``value`` with every mapping's keys in KEY_ORDER, then alphabetical; lists keep their order."""
    keys = sorted(value, key=lambda k: (_RANK.get(k, len(_RANK)), str(k)))
    return {k: _reorder(value[k]) for k in keys}


def _reorder(value: Any) -> Any:
    """:func:`reorder_dict` inside any value: mappings reordered, lists item by item, anything else as it is."""
    if isinstance(value, Mapping):
        return reorder_dict(value)
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


def remove_task(workflow: dict[str, Any], task_key: str, rewire: bool = True) -> dict[str, Any]:
    """Return a copy of ``workflow`` without ``task_key``.

    Tasks that depended on it inherit its own dependencies when ``rewire`` is true; otherwise they are an error.
    Raises ``ConfigError`` for an unknown ``task_key`` and, without ``rewire``, when another task depends on it.
    """
    tasks = workflow.get("tasks", [])
    removed = next((t for t in tasks if t["task_key"] == task_key), None)
    name = workflow.get("name")
    if removed is None:
        known = [t["task_key"] for t in tasks]
        raise ConfigError(f"workflow '{name}': cannot remove task '{task_key}': no such task; tasks are {known}")
    inherited = [d["task_key"] for d in removed.get("depends_on", [])]
    result = copy.deepcopy(workflow)
    result["tasks"] = []
    for task in copy.deepcopy(tasks):
        if task["task_key"] == task_key:
            continue
        deps = [d["task_key"] for d in task.get("depends_on", [])]
        if task_key in deps:
            if not rewire:
                raise ConfigError(
                    f"workflow '{name}', task '{task['task_key']}', field depends_on: it depends on removed task "
                    f"'{task_key}'; remove it too or allow rewiring"
                )
            deps = list(dict.fromkeys([d for d in deps if d != task_key] + inherited))
            task["depends_on"] = [{"task_key": d} for d in deps]
            if not deps:
                del task["depends_on"]
        result["tasks"].append(task)
    return result


def to_bundle_job(workflow: Mapping[str, Any], core_wheel: str) -> dict[str, Any]:
    """Asset Bundle form of a dbx workflow: ``permissions`` for ``access_control_list``, the wheel made explicit.

    dbx attaches the project's wheel to every task itself; a bundle lists it (``core_wheel``) as a library.
    ``file://`` references (dbx: relative to the project root) keep their path: the caller maps them.
    """
    job = copy.deepcopy(dict(workflow))
    acl = job.pop("access_control_list", [])
    if acl:
        job["permissions"] = [
            {"level": entry["permission_level"], **{k: v for k, v in entry.items() if k != "permission_level"}}
            for entry in acl
        ]
    for task in job.get("tasks", []):
        task["libraries"] = [{"whl": core_wheel}] + task.get("libraries", [])
    return reorder_dict(job)


@dataclass(frozen=True)
class JobFactory:
    """Builds the workflow dicts of one environment from the templates.

    ``templates``: the parsed conf/templates.yml; ``env``: environment name; ``settings``: that environment's
    validated ``deployment`` section (``job_gen.load_settings``); ``commit``: the git commit id stamped on every
    workflow as a tag.
    """

    templates: Mapping[str, Any]
    env: str
    settings: DeployableConfig
    commit: str

    def build_all(self) -> list[dict[str, Any]]:
        """All workflows of the templates, in template order."""
        return [self.build(name) for name in self.templates["workflows"]]

    def build(self, workflow_key: str) -> dict[str, Any]:
        """One workflow: name prefix, clusters, tasks, schedule, notifications, access control and tags."""
        template = copy.deepcopy(self.templates["workflows"][workflow_key])
        defaults = self.templates.get("defaults", {})
        workflow: dict[str, Any] = copy.deepcopy(defaults.get("workflow", {}))
        own = {"job_clusters", "tasks", "schedule", "tags", "task_kind"}
        workflow.update({k: v for k, v in template.items() if k not in own})
        workflow["name"] = f"{self.settings.job_name_prefix}{workflow_key}"
        workflow["tags"] = {
            **defaults.get("workflow", {}).get("tags", {}), **template.get("tags", {}),
            "environment": self.env, "git_commit": self.commit, "workflow": workflow_key,
        }
        workflow["job_clusters"] = [self._job_cluster(workflow_key, c) for c in template.get("job_clusters", [])]
        kind = template.get("task_kind", defaults.get("task_kind", "python_wheel_task"))
        workflow["tasks"] = [self._task(workflow_key, t, kind) for t in template.get("tasks", [])]
        schedule = self._schedule(workflow_key, template.get("schedule"))
        if schedule:
            workflow["schedule"] = schedule
        settings = self.settings
        if settings.notifications:
            workflow["email_notifications"] = {event: list(emails) for event, emails in settings.notifications.items()}
        if settings.webhook_notifications:  # notification destination ids, per event
            workflow["webhook_notifications"] = {event: [{"id": i} for i in ids]
                                                 for event, ids in settings.webhook_notifications.items()}
        if settings.access_control:
            workflow["access_control_list"] = [entry.model_dump() for entry in settings.access_control]
        for task_key in settings.remove_tasks.get(workflow_key, []):
            workflow = remove_task(workflow, task_key)
        return reorder_dict(workflow)

    def _job_cluster(self, workflow_key: str, cluster: Mapping[str, Any]) -> dict[str, Any]:
        size = cluster.get("size", "small")
        sizes = self.settings.cluster_sizes
        if size not in sizes:
            raise ConfigError(
                f"workflow '{workflow_key}', job cluster '{cluster.get('job_cluster_key')}', field size: "
                f"'{size}' is not defined in deployment.cluster_sizes of environment '{self.env}' "
                f"(defined: {sorted(sizes)})"
            )
        new_cluster = {"spark_version": self.settings.spark_version, **copy.deepcopy(sizes[size])}
        new_cluster.update(copy.deepcopy(cluster.get("new_cluster", {})))
        return {"job_cluster_key": cluster.get("job_cluster_key"), "new_cluster": new_cluster}

    def _task(self, workflow_key: str, template: Mapping[str, Any], kind: str) -> dict[str, Any]:
        task: dict[str, Any] = copy.deepcopy(self.templates.get("defaults", {}).get("task", {}))
        task.update({k: copy.deepcopy(v) for k, v in template.items() if k not in ("step", "kind", "parameters")})
        deps = template.get("depends_on", [])
        if deps:
            task["depends_on"] = [{"task_key": d} if isinstance(d, str) else d for d in deps]
        kind = template.get("kind", kind)
        step_name = template.get("step", template.get("task_key"))
        steps = self.templates.get("steps", {})
        where = f"workflow '{workflow_key}', task '{template.get('task_key')}'"
        if step_name not in steps:
            raise ConfigError(f"{where}, field step: unknown step '{step_name}'; known steps: {sorted(steps)}")
        if kind not in TASK_KINDS:
            raise ConfigError(f"{where}, field kind: '{kind}' is not one of {list(TASK_KINDS)}")
        step = steps[step_name]
        parameters = ["--env", self.env, *[str(p) for p in template.get("parameters", [])]]
        if kind == "python_wheel_task":
            task[kind] = {
                "package_name": self.templates.get("package_name", "gda_clv"),
                "entry_point": step["entry_point"], "parameters": parameters,
            }
        else:
            task[kind] = {"python_file": f"file://{step['python_file']}", "parameters": parameters}
        return task

    def _schedule(self, workflow_key: str, spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not spec:
            return None
        override = spec.get("overrides", {}).get(self.env, {})
        cron = override.get("quartz_cron_expression", spec.get("quartz_cron_expression"))
        if not cron:
            raise ConfigError(
                f"workflow '{workflow_key}', field schedule.quartz_cron_expression: missing; "
                "run `gda-clv schedule` to generate it from the schedule spec"
            )
        pause = override.get("pause_status", "PAUSED" if self.settings.pause_schedules else "UNPAUSED")
        return {"quartz_cron_expression": cron, "timezone_id": spec.get("timezone", "UTC"), "pause_status": pause}


def task_keys(workflow: Mapping[str, Any]) -> list[str]:
    """Task keys of a workflow dict, in order."""
    return [t.get("task_key") for t in workflow.get("tasks", [])]


def depends_on_keys(task: Mapping[str, Any]) -> Sequence[str]:
    """The task keys a task dict depends on."""
    return [str(d.get("task_key")) if isinstance(d, Mapping) else d for d in task.get("depends_on", [])]
