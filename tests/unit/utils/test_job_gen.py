"""job_gen: templates.yml -> deployment.yml + bundle; structural and databricks-bundles validations."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.bundles.jobs import Job

from gda_clv.errors import ConfigError
from gda_clv.utils import job_gen

REPO = Path(__file__).resolve().parents[3]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
JOB_FILES = (
    "data_engineering_pipelines/NOAM/01_data_preparation.py", "model_pipelines/model_training_frequency.py",
    "model_pipelines/model_training_monetary.py", "model_pipelines/model_projection_clv.py",
    "model_pipelines/model_monitoring_clv.py",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's deployment inputs (templates, environments, setup.py) plus the thin job files."""
    shutil.copy(REPO / "setup.py", tmp_path / "setup.py")
    (tmp_path / "conf" / "environments").mkdir(parents=True)
    shutil.copy(REPO / "conf" / "templates.yml", tmp_path / "conf" / "templates.yml")
    for env in ("dev", "staging", "prod"):
        shutil.copy(REPO / "conf" / "environments" / f"{env}.yml", tmp_path / "conf" / "environments" / f"{env}.yml")
    for rel in ("base.yml", "models", "dashboards"):  # the tables' names and the dashboard template
        copy = shutil.copytree if (REPO / "conf" / rel).is_dir() else shutil.copy
        copy(REPO / "conf" / rel, tmp_path / "conf" / rel)
    for rel in JOB_FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("import sys\n")
    return tmp_path


LATER_TASK = ["--job-run-id", "{{job.run_id}}", "--as-of", "{{tasks.prepare.values.as_of}}"]


def generate(project: Path) -> dict[str, Any]:
    return job_gen.generate(
        root=project, templates_path=project / "conf" / "templates.yml", conf_dir=project / "conf" / "environments",
        out=project / "conf" / "deployment.yml", bundle_dir=project / "conf" / "bundle", commit=COMMIT,
        dbx_python=None,
    )


def edit(project: Path, old: str, new: str, file: str = "conf/templates.yml") -> None:
    path = project / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def broken(project: Path, old: str, new: str, file: str = "conf/templates.yml") -> str:
    edit(project, old, new, file)
    with pytest.raises(ConfigError) as info:
        generate(project)
    return str(info.value)


def test_generates_every_environment_with_commit_tag(project: Path) -> None:
    summary = generate(project)
    deployment = yaml.safe_load((project / "conf" / "deployment.yml").read_text())
    assert deployment["build"] == {"no_build": True}
    assert list(deployment["environments"]) == ["dev", "staging", "prod"]
    names = {env: [w["name"] for w in spec["workflows"]] for env, spec in deployment["environments"].items()}
    assert names == {"dev": ["dev-clv-training", "dev-clv-scoring"], "staging": ["staging-clv-training",
                     "staging-clv-scoring"], "prod": ["clv-training", "clv-scoring"]}
    dev_training, prod_scoring = deployment["environments"]["dev"]["workflows"][0], \
        deployment["environments"]["prod"]["workflows"][1]
    assert dev_training["tags"]["git_commit"] == COMMIT
    assert dev_training["schedule"] == {"quartz_cron_expression": "0 0 2 ? * SUN", "timezone_id": "UTC",
                                       "pause_status": "PAUSED"}
    assert prod_scoring["schedule"]["pause_status"] == "UNPAUSED"
    project_task = dev_training["tasks"][3]
    assert project_task["depends_on"] == [{"task_key": "train_frequency"}, {"task_key": "train_monetary"}]
    assert project_task["python_wheel_task"] == {"package_name": "gda_clv", "entry_point": "clv_project",
                                                 "parameters": ["--env", "dev", *LATER_TASK]}
    # each task is its own process: prepare's as_of and the job run id are handed over explicitly
    assert dev_training["tasks"][0]["python_wheel_task"]["parameters"] == ["--env", "dev", *LATER_TASK[:2]]
    assert dev_training["tasks"][2]["depends_on"] == [{"task_key": "train_frequency"}]
    assert dev_training["job_clusters"][0]["new_cluster"]["spark_version"] == "17.3.x-cpu-ml-scala2.13"
    assert summary["validations"]["dbx"] == "skipped: None not found (make .venv-deploy)"
    assert summary["environments"]["prod"]["clv-scoring"] == ["prepare", "project", "monitor"]


def test_generating_twice_gives_identical_bytes(project: Path) -> None:
    generate(project)
    first = {p: p.read_bytes() for p in sorted((project / "conf").rglob("*.yml"))}
    generate(project)
    second = {p: p.read_bytes() for p in sorted((project / "conf").rglob("*.yml"))}
    assert first == second
    # templates, 3 environments, base.yml, the region's models file, deployment, databricks.yml, 2 jobs, dashboards
    assert len(first) == 1 + 3 + 1 + 1 + 1 + 1 + 2 + 1


def _from_bundle(job: dict[str, Any]) -> dict[str, Any]:
    """Undo the bundle-only differences: permissions -> access_control_list, explicit wheel, relative paths."""
    job = dict(job)
    if "permissions" in job:
        job["access_control_list"] = [
            {"permission_level": p["level"], **{k: v for k, v in p.items() if k != "level"}}
            for p in job.pop("permissions")
        ]
    for task in job["tasks"]:
        assert task["libraries"][0] == {"whl": "../../../dist/*.whl"}
        task["libraries"] = task["libraries"][1:]
        if not task["libraries"]:
            del task["libraries"]
        if "spark_python_task" in task:
            path = task["spark_python_task"]["python_file"]
            task["spark_python_task"]["python_file"] = "file://" + path.removeprefix("../../../")
    return job


@pytest.mark.parametrize("kind", ["python_wheel_task", "spark_python_task"])
def test_bundle_renders_the_same_jobs(project: Path, kind: str) -> None:
    edit(project, "task_kind: python_wheel_task", f"task_kind: {kind}")
    generate(project)
    deployment = yaml.safe_load((project / "conf" / "deployment.yml").read_text())
    bundle = project / "conf" / "bundle"
    main = yaml.safe_load((bundle / "databricks.yml").read_text())
    assert list(main["targets"]) == ["dev", "staging", "prod"]
    assert main["include"] == ["resources/*.yml"]
    for env, spec in deployment["environments"].items():
        for workflow in spec["workflows"]:
            key = workflow["tags"]["workflow"]
            resource = yaml.safe_load((bundle / "resources" / f"{key}.yml").read_text())
            job = resource["targets"][env]["resources"]["jobs"][key]
            Job.from_dict(job)
            assert _from_bundle(job) == workflow
    task = deployment["environments"]["staging"]["workflows"][0]["tasks"][1]
    if kind == "spark_python_task":
        assert task[kind] == {"python_file": "file://model_pipelines/model_training_frequency.py",
                              "parameters": ["--env", "staging", *LATER_TASK]}


# ---- validation 3: our own structural checks, each with a broken template and the exact error ----

def test_depends_on_unknown_task(project: Path) -> None:
    assert broken(project, "depends_on: [train_frequency, train_monetary]", "depends_on: [train_frequency, fit]") == (
        "environment 'dev', workflow 'dev-clv-training', task 'project', field depends_on: 'fit' is not a task of "
        "this workflow (tasks: prepare, train_frequency, train_monetary, project)"
    )


def test_dependency_cycle(project: Path) -> None:
    edit(project, "      - task_key: prepare\n        step: prepare\n        job_cluster_key: training\n",
         "      - task_key: prepare\n        step: prepare\n        job_cluster_key: training\n"
         "        depends_on: [project]\n")
    with pytest.raises(ConfigError) as info:
        generate(project)
    assert str(info.value) == (
        "environment 'dev', workflow 'dev-clv-training', field depends_on: tasks form a cycle: "
        "prepare -> project -> train_frequency -> prepare"
    )


def test_undefined_job_cluster(project: Path) -> None:
    assert broken(project, "        depends_on: [prepare]\n        job_cluster_key: scoring",
                  "        depends_on: [prepare]\n        job_cluster_key: scorer") == (
        "environment 'dev', workflow 'dev-clv-scoring', task 'project', field job_cluster_key: 'scorer' is not "
        "defined in job_clusters (defined: scoring)"
    )


def test_entry_point_missing_from_setup_py(project: Path) -> None:
    assert broken(project, "entry_point: clv_project", "entry_point: clv_score") == (
        "environment 'dev', workflow 'dev-clv-training', task 'project', field python_wheel_task.entry_point: "
        "'clv_score' is not a console script in setup.py (declared: clv_monitor, clv_prepare, clv_project, clv_run, "
        "clv_train_frequency, clv_train_monetary, gda-clv)\n"
        "environment 'dev', workflow 'dev-clv-scoring', task 'project', field python_wheel_task.entry_point: "
        "'clv_score' is not a console script in setup.py (declared: clv_monitor, clv_prepare, clv_project, clv_run, "
        "clv_train_frequency, clv_train_monetary, gda-clv)"
    )


def test_python_file_must_exist(project: Path) -> None:
    edit(project, "task_kind: python_wheel_task", "task_kind: spark_python_task")
    (project / "model_pipelines" / "model_projection_clv.py").unlink()
    with pytest.raises(ConfigError) as info:
        generate(project)
    assert str(info.value).splitlines()[0] == (
        f"environment 'dev', workflow 'dev-clv-training', task 'project', field spark_python_task.python_file: "
        f"model_pipelines/model_projection_clv.py does not exist under {project}"
    )


def test_pause_status_must_be_paused_or_unpaused(project: Path) -> None:
    edit(project, '      quartz_cron_expression: "0 0 6 * * ?"',
         '      quartz_cron_expression: "0 0 6 * * ?"\n      overrides:\n        dev: {pause_status: STOPPED}')
    with pytest.raises(ConfigError) as info:
        generate(project)
    assert str(info.value) == (
        "environment 'dev', workflow 'dev-clv-scoring', field schedule.pause_status: 'STOPPED' is not PAUSED or "
        "UNPAUSED"
    )


def test_cron_must_be_valid_quartz(project: Path) -> None:
    assert broken(project, '"0 0 6 * * ?"', '"0 0 25 * * ?"') == (
        "environment 'dev', workflow 'dev-clv-scoring', field schedule.quartz_cron_expression: '0 0 25 * * ?' is "
        "not valid Quartz syntax: hours value 25 is out of range 0-23"
    )


def test_unknown_step(project: Path) -> None:
    assert broken(project, "step: train_monetary", "step: train_spend") == (
        "workflow 'clv-training', task 'train_monetary', field step: unknown step 'train_spend'; known steps: "
        "['monitor', 'prepare', 'project', 'train_frequency', 'train_monetary']"
    )


def test_unknown_deployment_setting(project: Path) -> None:
    message = broken(project, "  pause_schedules: true", "  pause_schedule: true", "conf/environments/dev.yml")
    assert "unknown key 'deployment.pause_schedule'; allowed under 'deployment': access_control, cluster_sizes, " \
        "dashboard, job_name_prefix, notifications, pause_schedules, permissions" in message
    assert message.endswith(f"(from {project}/conf/environments/dev.yml)")


def test_environment_without_deployment_section(project: Path) -> None:
    """An environment that leaves what conf/base.yml leaves unset cannot be deployed: every such key is named."""
    (project / "conf" / "environments" / "staging.yml").write_text("tables: {}\n")
    with pytest.raises(ConfigError) as info:
        generate(project)
    message = str(info.value)
    assert message.startswith("environment 'staging' cannot be deployed: invalid configuration (4 problems):")
    for key in ("job_name_prefix", "spark_version", "cluster_sizes", "workspace.volume"):
        assert f"'deployment.{key}': is needed to deploy this environment: set it in its " \
            f"conf/environments/<env>.yml (conf/environments/dev.yml is an example) (from {project}/conf/base.yml)" \
            in message


# ---- validation 2: the Jobs API models of databricks-bundles ----

def test_bundles_rejects_unknown_task_field(project: Path) -> None:
    old = "        timeout_seconds: 14400\n"
    assert broken(project, old, old + "        max_retry: 3\n") == (
        "resources/clv-training.yml.targets.dev.resources.jobs.clv-training, task 'train_frequency': "
        "databricks-bundles rejected it: Unexpected field 'max_retry' for class Task"
    )


def test_bundles_rejects_unknown_job_field(project: Path) -> None:
    assert broken(project, "    timeout_seconds: 7200\n    job_clusters:", "    retries: 2\n    job_clusters:") == (
        "resources/clv-scoring.yml.targets.dev.resources.jobs.clv-scoring: databricks-bundles rejected it: "
        "Unexpected field 'retries' for class Job"
    )


def test_cli_arguments_default_to_the_project_layout(project: Path) -> None:
    parser = argparse.ArgumentParser()
    job_gen.add_arguments(parser)
    args = parser.parse_args(["--root", str(project), "--commit", COMMIT, "--no-bundle"])
    summary = job_gen.run_from_args(args)
    assert summary["files"] == [str(project / "conf" / "deployment.yml"), str(project / ".dbx" / "project.json")]
    assert not (project / "conf" / "bundle").exists()
    args = parser.parse_args(["--root", str(project), "--commit", COMMIT, "--require-dbx"])
    with pytest.raises(ConfigError) as info:
        job_gen.run_from_args(args)
    assert str(info.value) == (
        f"dbx validation needs {project}/.venv-deploy/bin/python; create it with `make .venv-deploy`"
    )


def test_entry_points_read_from_setup_py() -> None:
    assert {"clv_prepare", "clv_train_frequency", "clv_train_monetary", "clv_project", "clv_run"} <= \
        job_gen.setup_entry_points(REPO / "setup.py")


# ---- service principals by application id (issue 16, item 3) ----

def test_service_principal_must_be_an_application_id(project: Path) -> None:
    message = broken(project, "00000000-0000-0000-0000-00000000d001", "gda-clv-dev-deployer",
                     "conf/environments/dev.yml")
    assert "'deployment.access_control.0.service_principal_name': 'gda-clv-dev-deployer' is not a UUID; it must be " \
        "the service principal's application id (Databricks account console > Service principals > Application " \
        "ID), not its display name" in message
    assert message.endswith(f"(from {project}/conf/environments/dev.yml)")


def test_experiment_access_list_service_principal_is_checked_too(project: Path) -> None:
    message = broken(project, "      - {group_name: gda-clv-analysts, permission_level: CAN_READ}",
                     "      - {service_principal_name: analysts-sp, permission_level: CAN_READ}",
                     "conf/environments/staging.yml")
    assert "'deployment.permissions.experiment.1.service_principal_name': 'analysts-sp' is not a UUID" in message
    assert message.endswith(f"(from {project}/conf/environments/staging.yml)")


def test_shipped_placeholders_validate_and_are_marked() -> None:
    for env in ("dev", "staging", "prod"):
        text = (REPO / "conf" / "environments" / f"{env}.yml").read_text()
        settings = job_gen.load_settings(REPO / "conf" / "environments", env)
        owner = settings.access_control[0].model_dump()["service_principal_name"]
        assert job_gen.UUID.match(owner) and owner.startswith("00000000-0000-0000-0000-")
        assert f"{owner}, permission_level: IS_OWNER}}  # REPLACE with the application id" in text


# ---- no DBFS root (issue 16, item 4) ----

def test_rendered_deployment_bundle_and_env_config_never_use_dbfs_root(project: Path) -> None:
    from gda_clv.utils.bundle_check import dbfs_root_references
    from gda_clv.utils.config_utils import load_config

    generate(project)
    rendered = [project / "conf" / "deployment.yml", project / ".dbx" / "project.json",
                *sorted((project / "conf" / "bundle").rglob("*.yml")), *sorted((REPO / "conf").rglob("*.yml"))]
    for path in rendered:
        assert dbfs_root_references(path.read_text()) == [], path
    assert dbfs_root_references("artifact_location: dbfs:/Shared/gda_clv/dev/artifacts")  # the check can fail
    assert dbfs_root_references("path: /dbfs/tmp/out")
    main = yaml.safe_load((project / "conf" / "bundle" / "databricks.yml").read_text())
    assert main["targets"]["prod"]["workspace"] == {"artifact_path": "/Volumes/gda_prod/clv/clv_files/artifacts/bundle"}
    project_json = yaml.safe_load((project / ".dbx" / "project.json").read_text())
    assert project_json["environments"]["dev"]["properties"] == {
        "workspace_directory": "/Shared/gda_clv/dev/dbx",
        "artifact_location": "dbfs:/Volumes/gda_dev/clv/clv_files/artifacts/dbx"}  # MLflow's UC-volume scheme
    for env in ("dev", "staging", "prod"):
        assert load_config(env).output.path == f"/Volumes/gda_{env}/clv/clv_files/predictions"
    assert load_config("local").output.path is None  # locally unchanged: <state_dir>/output


def test_volume_must_be_a_unity_catalog_volume(project: Path) -> None:
    message = broken(project, "volume: /Volumes/gda_dev/clv/clv_files", "volume: dbfs:/Shared/gda_clv",
                     "conf/environments/dev.yml")
    assert "'deployment.workspace.volume': 'dbfs:/Shared/gda_clv' must be a Unity Catalog volume " \
        "/Volumes/<catalog>/<schema>/<volume> (DBFS root is disabled on new workspaces)" in message
    assert message.endswith(f"(from {project}/conf/environments/dev.yml)")


# ---- offline bundle check: the CLI's bundle schema and the databricks-bundles models (issue 16) ----

def _bundle(project: Path) -> dict[str, str]:
    generate(project)
    folder = project / "conf" / "bundle"
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("file", "old", "new", "expected"), [
    ("databricks.yml", "sync:", "synch:", "databricks.yml: unknown field(s) ['synch']"),
    ("databricks.yml", "  prod:\n", "  prod:\n    mode: production\n    defaults: true\n",
     "databricks.yml.targets.prod: unknown field(s) ['defaults']"),
    ("databricks.yml", "artifact_path: /Volumes/gda_staging", "artifact_path: /Shared/gda_staging",
     "databricks.yml.targets.staging.workspace.artifact_path: '/Shared/gda_staging/clv/clv_files/artifacts/bundle' "
     "must be a Unity Catalog volume"),
    ("databricks.yml", "    workspace:\n", "    workspace:\n      artifact_pth: /Volumes/a/b/c\n",
     "databricks.yml.targets.dev.workspace: unknown field(s) ['artifact_pth']"),
    ("resources/clv-scoring.yml", "max_concurrent_runs: 1", "max_concurrent_runs: many",
     "resources/clv-scoring.yml.targets.dev.resources.jobs.clv-scoring: databricks-bundles rejected it: invalid "
     "literal for int() with base 10: 'many'"),
    ("resources/clv-scoring.yml", "level: CAN_VIEW", "level: CAN_READ",
     "resources/clv-scoring.yml.targets.dev.resources.jobs.clv-scoring: databricks-bundles rejected it: "
     "'CAN_READ' is not a valid JobPermissionLevel"),
    ("resources/clv-training.yml", "      jobs:", "      pipelinez: {}\n      jobs:",
     "resources/clv-training.yml.targets.dev.resources: unknown field(s) ['pipelinez']"),
    ("resources/clv-training.yml", "- whl: ../../../dist/*.whl", "- whl: dbfs:/FileStore/gda_clv.whl",
     "bundle resources/clv-training.yml: references DBFS root"),
    ("resources/dashboards.yml", "file_path: ../dashboards/clv.dev", "file_path: ../dashboard/clv.dev",
     "bundle resources/dashboards.yml: dashboard 'clv' file_path ../dashboard/clv.dev.lvdash.json is not in"),
    ("resources/dashboards.yml", "embed_credentials: false", "embed_credential: false",
     "resources/dashboards.yml.targets.dev.resources.dashboards.clv: databricks-bundles rejected it"),
])
def test_broken_bundle_is_rejected(project: Path, file: str, old: str, new: str, expected: str) -> None:
    from gda_clv.utils.bundle_check import check_bundle

    files = _bundle(project)
    check_bundle(files)  # the rendered bundle passes
    assert old in files[file], old
    files[file] = files[file].replace(old, new, 1)
    with pytest.raises(ConfigError) as info:
        check_bundle(files)
    assert str(info.value).startswith(expected), str(info.value)


def test_rendered_files_are_not_committed() -> None:
    """They carry the commit being deployed, which a committed copy cannot: job-gen writes them at deploy time."""
    rendered = ["conf/deployment.yml", "conf/bundle/databricks.yml", "conf/bundle/resources/clv-training.yml",
                ".dbx/project.json"]
    tracked = subprocess.run(["git", "ls-files", "conf/deployment.yml", "conf/bundle", ".dbx"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == []
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *rendered], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    assert ignored == rendered


# ---- failure notifications per environment (issue 12) ----

def test_failure_notifications_render_into_deployment_and_bundle(project: Path) -> None:
    """E-mail and webhook destinations of each environment file reach every job, in dbx's file and the bundle."""
    generate(project)
    deployment = yaml.safe_load((project / "conf" / "deployment.yml").read_text())["environments"]
    for env in ("dev", "staging", "prod"):
        spec = yaml.safe_load((project / "conf" / "environments" / f"{env}.yml").read_text())["deployment"]
        webhooks = {"on_failure": [{"id": i} for i in spec["webhook_notifications"]["on_failure"]]}
        bundle = yaml.safe_load((project / "conf" / "bundle" / "resources" / "clv-scoring.yml").read_text())
        jobs = [*deployment[env]["workflows"], bundle["targets"][env]["resources"]["jobs"]["clv-scoring"]]
        for job in jobs:
            assert job["email_notifications"] == spec["notifications"]
            assert job["webhook_notifications"] == webhooks


@pytest.mark.parametrize(("new", "expected"), [
    ("on_failure: [slack-alerts]", "'deployment.webhook_notifications.on_failure.0': 'slack-alerts' is not a "
                                   "notification destination id (a UUID: workspace settings > Notifications"),
    ("on_failure: 00000000-0000-0000-0000-00000000da01", "'deployment.webhook_notifications.on_failure' must be a "
                                                          "list"),
    ("on_failur: [00000000-0000-0000-0000-00000000da01]",
     "unknown key 'deployment.webhook_notifications.on_failur'; allowed under 'deployment.webhook_notifications': "
     "'on_start'"),
])
def test_webhook_destinations_are_checked(project: Path, new: str, expected: str) -> None:
    message = broken(project, "on_failure: [00000000-0000-0000-0000-00000000da01]", new, "conf/environments/dev.yml")
    assert expected in message and message.endswith(f"(from {project}/conf/environments/dev.yml)")


def test_failure_notifications_pass_dbx_reader(project: Path) -> None:
    """dbx 0.8.19's own reader (its own venv, as `make validate-deploy` runs it) accepts the notifications."""
    dbx_python = REPO / ".venv-deploy" / "bin" / "python"
    if not dbx_python.exists():
        pytest.skip("needs .venv-deploy (make .venv-deploy)")
    generate(project)
    found = job_gen.check_with_dbx(project / "conf" / "deployment.yml", dbx_python)
    assert found["dev"] == ["dev-clv-training", "dev-clv-scoring"]


# ---- the AI/BI dashboard in the bundle (issue 12) ----

def test_dashboard_is_a_bundle_resource_per_environment(project: Path) -> None:
    generate(project)
    bundle = project / "conf" / "bundle"
    resources = yaml.safe_load((bundle / "resources" / "dashboards.yml").read_text())["targets"]
    assert sorted(resources) == ["dev", "prod", "staging"]
    for env, target in resources.items():
        spec = yaml.safe_load((project / "conf" / "environments" / f"{env}.yml").read_text())["deployment"]
        dashboard = target["resources"]["dashboards"]["clv"]
        assert dashboard["warehouse_id"] == spec["dashboard"]["warehouse_id"]
        rendered = json.loads((bundle / "resources" / dashboard["file_path"]).read_text())
        assert f"FROM gda_{env}.clv.clv_predictions" in json.dumps(rendered)
    assert "resources/*.yml" in yaml.safe_load((bundle / "databricks.yml").read_text())["include"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('warehouse_id: "1111111111d00001"', 'warehouse: "1111111111d00001"',
     "unknown key 'deployment.dashboard.warehouse'; allowed under 'deployment.dashboard': embed_credentials, "
     "parent_path, warehouse_id"),
    ('warehouse_id: "1111111111d00001"', 'parent_path: /Shared/dashboards',
     "'deployment.dashboard': warehouse_id is needed (the SQL warehouse the dashboard queries with)"),
    ("FROM __MONITORING_TABLE__", "FROM gda_prod.clv.clv_monitoring", "dataset 'monitoring_metrics': queries "
                                                                      "['gda_prod.clv.clv_monitoring']"),
    ('"datasetName": "latest_top_customers"', '"datasetName": "top"', "dataset 'top' does not exist"),
])
def test_broken_dashboard_is_rejected(project: Path, old: str, new: str, expected: str) -> None:
    file = "conf/environments/dev.yml" if "warehouse" in old else "conf/dashboards/clv.lvdash.json"
    assert expected in broken(project, old, new, file)
