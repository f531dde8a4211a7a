"""dbx 0.8's files: conf/deployment.yml and .dbx/project.json."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gda_clv.utils.config_schema import DeployableConfig
from gda_clv.utils.job_gen.yaml_text import HEADER, dump_yaml
from gda_clv.utils.workspace_paths import dbx_artifact_location, workspace_root


def dbx_project_text(settings: Mapping[str, DeployableConfig]) -> str:
    """.dbx/project.json (what `dbx configure` writes): per environment, dbx's storage experiment under the
    workspace root and its artifact location on the environment's Unity Catalog volume."""
    environments = {env: {"profile": "DEFAULT", "storage_type": "mlflow", "properties": {
        "workspace_directory": f"{workspace_root(env, spec)}/dbx", "artifact_location": dbx_artifact_location(spec)}}
        for env, spec in settings.items()}
    body = {"environments": environments, "inplace_jinja_support": False,
            "failsafe_cluster_reuse_with_assets": False, "context_based_upload_for_execute": False}
    return json.dumps(body, indent=2) + "\n"


def deployment_text(workflows: Mapping[str, list[dict[str, Any]]]) -> str:
    """conf/deployment.yml content: dbx 0.8 format; the wheel is built by `make wheel`, not by dbx."""
    body = {"build": {"no_build": True},
            "environments": {env: {"workflows": wfs} for env, wfs in workflows.items()}}
    return HEADER + dump_yaml(body)


