"""The Asset Bundle's files: databricks.yml with a target per environment and resources/<workflow>.yml."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gda_clv.utils.config_schema import DeployableConfig
from gda_clv.utils.dbx_utils import to_bundle_job
from gda_clv.utils.job_gen.yaml_text import HEADER, dump_yaml
from gda_clv.utils.workspace_paths import bundle_artifact_path

BUNDLE_ROOT_FROM_RESOURCES = "../../../"  # conf/bundle/resources/ -> project root
CORE_WHEEL = "dist/*.whl"


def _bundle_paths(job: dict[str, Any]) -> dict[str, Any]:
    """Make project-relative file references relative to conf/bundle/resources/."""
    for task in job.get("tasks", []):
        script = task.get("spark_python_task")
        if script:
            script["python_file"] = BUNDLE_ROOT_FROM_RESOURCES + script["python_file"].removeprefix("file://")
        for lib in task.get("libraries", []):
            if "whl" in lib and not re.match(r"^\w+:/", lib["whl"]):
                lib["whl"] = BUNDLE_ROOT_FROM_RESOURCES + lib["whl"]
    return job


def bundle_files(templates: Mapping[str, Any], workflows: Mapping[str, list[dict[str, Any]]],
                 settings: Mapping[str, DeployableConfig]) -> dict[str, str]:
    """{relative path under the bundle folder: content}: databricks.yml with targets (each with its artifact path
    on the environment's volume), resources/<workflow>.yml. No ``artifacts`` build: the CLI uploads the wheel the
    tasks reference (``dist/*.whl``, built once by ``make wheel`` or promoted by CD) to ``workspace.artifact_path``."""
    envs = list(workflows)
    main = {
        "bundle": {"name": templates.get("package_name", "gda_clv")},
        "include": ["resources/*.yml"],
        "sync": {"paths": ["../.."]},
        "targets": {env: {**({"default": True} if env == envs[0] else {}),
                          "workspace": {"artifact_path": bundle_artifact_path(settings[env])}} for env in envs},
    }
    files = {"databricks.yml": HEADER + dump_yaml(main)}
    for index, key in enumerate(templates["workflows"]):
        targets = {env: {"resources": {"jobs": {key: _bundle_paths(to_bundle_job(wfs[index], CORE_WHEEL))}}}
                   for env, wfs in workflows.items()}
        files[f"resources/{key}.yml"] = HEADER + dump_yaml({"targets": targets})
    return files


