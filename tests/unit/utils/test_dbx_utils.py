"""dbx_utils: reorder_dict, remove_task and JobFactory on small dicts."""
from __future__ import annotations

import pytest

from gda_clv.errors import ConfigError
from gda_clv.utils.dbx_utils import JobFactory, remove_task, reorder_dict
from tests.unit.utils.deployment import deployable

WORKFLOW = {
    "name": "wf",
    "tasks": [
        {"task_key": "a"},
        {"task_key": "b", "depends_on": [{"task_key": "a"}]},
        {"task_key": "c", "depends_on": [{"task_key": "b"}]},
        {"task_key": "d", "depends_on": [{"task_key": "a"}, {"task_key": "b"}]},
    ],
}


def test_reorder_dict_puts_known_keys_first_then_alphabetical() -> None:
    value = {"tasks": [{"zeta": 1, "task_key": "t", "alpha": 2}], "name": "n", "b": 1, "a": {"y": 1, "x": 2}}
    ordered = reorder_dict(value)
    assert list(ordered) == ["name", "tasks", "a", "b"]
    assert list(ordered["tasks"][0]) == ["task_key", "alpha", "zeta"]
    assert list(ordered["a"]) == ["x", "y"]
    assert ordered == value


def test_remove_task_rewires_dependents() -> None:
    result = remove_task(WORKFLOW, "b")
    assert result["tasks"] == [
        {"task_key": "a"},
        {"task_key": "c", "depends_on": [{"task_key": "a"}]},
        {"task_key": "d", "depends_on": [{"task_key": "a"}]},
    ]
    assert len(WORKFLOW["tasks"]) == 4  # the input is not changed
    assert remove_task(WORKFLOW, "a")["tasks"][0] == {"task_key": "b"}


def test_remove_task_rejects_dependents_or_unknown_task() -> None:
    with pytest.raises(ConfigError) as info:
        remove_task(WORKFLOW, "b", rewire=False)
    assert str(info.value) == ("workflow 'wf', task 'c', field depends_on: it depends on removed task 'b'; "
                               "remove it too or allow rewiring")
    with pytest.raises(ConfigError) as info:
        remove_task(WORKFLOW, "x")
    assert str(info.value) == "workflow 'wf': cannot remove task 'x': no such task; tasks are ['a', 'b', 'c', 'd']"


TEMPLATES = {
    "steps": {"prep": {"entry_point": "clv_prepare", "python_file": "p.py"},
              "score": {"entry_point": "clv_project", "python_file": "s.py"}},
    "defaults": {"task": {"max_retries": 2}, "workflow": {"tags": {"team": "gda"}}},
    "workflows": {"w": {
        "job_clusters": [{"job_cluster_key": "c", "size": "big", "new_cluster": {"spark_conf": {"k": "v"}}}],
        "schedule": {"every": "daily", "at": "01:00", "timezone": "Europe/Paris",
                     "quartz_cron_expression": "0 0 1 * * ?"},
        "tasks": [{"task_key": "prep", "step": "prep", "job_cluster_key": "c"},
                  {"task_key": "score", "step": "score", "depends_on": ["prep"], "kind": "spark_python_task",
                   "parameters": ["--set", "projection.horizon_months=6"]}],
    }},
}
SETTINGS = {"job_name_prefix": "t-", "spark_version": "16.4.x-cpu-ml-scala2.12",
            "cluster_sizes": {"big": {"node_type_id": "n", "num_workers": 3}}, "pause_schedules": True}


def test_job_factory_builds_one_workflow() -> None:
    workflow = JobFactory(TEMPLATES, "staging", deployable(**SETTINGS), "abc").build("w")
    assert workflow == {
        "name": "t-w",
        "tags": {"environment": "staging", "git_commit": "abc", "team": "gda", "workflow": "w"},
        "schedule": {"quartz_cron_expression": "0 0 1 * * ?", "timezone_id": "Europe/Paris", "pause_status": "PAUSED"},
        "job_clusters": [{"job_cluster_key": "c", "new_cluster": {
            "spark_version": "16.4.x-cpu-ml-scala2.12", "node_type_id": "n", "num_workers": 3,
            "spark_conf": {"k": "v"}}}],
        "tasks": [
            {"task_key": "prep", "job_cluster_key": "c", "max_retries": 2, "python_wheel_task": {
                "package_name": "gda_clv", "entry_point": "clv_prepare", "parameters": ["--env", "staging"]}},
            {"task_key": "score", "depends_on": [{"task_key": "prep"}], "max_retries": 2, "spark_python_task": {
                "python_file": "file://s.py",
                "parameters": ["--env", "staging", "--set", "projection.horizon_months=6"]}},
        ],
    }
    assert list(workflow) == ["name", "tags", "schedule", "job_clusters", "tasks"]


def test_job_factory_removes_tasks_per_environment_and_checks_sizes() -> None:
    settings = deployable(**SETTINGS, remove_tasks={"w": ["prep"]})
    workflow = JobFactory(TEMPLATES, "dev", settings, "abc").build("w")
    assert [t["task_key"] for t in workflow["tasks"]] == ["score"]
    assert "depends_on" not in workflow["tasks"][0]
    with pytest.raises(ConfigError) as info:
        JobFactory(TEMPLATES, "dev", deployable(**{**SETTINGS, "cluster_sizes": {"small": {}}}), "abc").build("w")
    assert str(info.value) == ("workflow 'w', job cluster 'c', field size: 'big' is not defined in "
                               "deployment.cluster_sizes of environment 'dev' (defined: ['small'])")
