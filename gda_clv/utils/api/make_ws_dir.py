"""Create the workspace folder layout of an environment: ROOT, ROOT/<region>, ROOT/<region>/{experiments,jobs}.

ROOT/<region>/experiments is the parent of the jobs' MLflow experiment (``workspace_paths.experiment_path``); no
folder is ever created at the experiment path itself. Idempotent: existing folders are reported, never recreated.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.api.client import denied, workspace_client
from gda_clv.utils.config_schema import DeploymentConfig
from gda_clv.utils.workspace_paths import experiment_parent, workspace_root


def workspace_folders(root: str, regions: Iterable[str]) -> list[str]:
    """The folders of the layout, parents first.

    Raises ValueError when ``root`` is not an absolute workspace path (the config's is checked by its schema).
    """
    if not root.startswith("/"):
        raise ValueError(f"root: '{root}' must be an absolute workspace path like /Shared/x")
    root = root.rstrip("/")
    folders = [root]
    for region in regions:
        folders += [f"{root}/{region}", experiment_parent(root, region), f"{root}/{region}/jobs"]
    return folders


def make_workspace_dirs(root: str, regions: Iterable[str], client: Any = None) -> dict[str, list[str]]:
    """Create the missing folders; returns {"created": [...], "existing": [...]}.

    Raises ValueError for a relative workspace root, ConfigError naming the right a 403 asks for.
    """
    from databricks.sdk.errors import NotFound, PermissionDenied
    from databricks.sdk.service.workspace import ObjectType

    client = client or workspace_client()
    result: dict[str, list[str]] = {"created": [], "existing": []}
    for path in workspace_folders(root, regions):
        try:
            info = client.workspace.get_status(path)
        except NotFound:
            info = None
        except PermissionDenied as exc:
            raise denied(f"reading workspace folder {path}", f"CAN_READ on {path}", exc) from None
        if info is not None:
            if info.object_type != ObjectType.DIRECTORY:
                raise ConfigError(f"workspace path {path} exists but is a {info.object_type.value}, not a folder")
            result["existing"].append(path)
            continue
        try:
            client.workspace.mkdirs(path)
        except PermissionDenied as exc:
            parent = str(Path(path).parent)
            right = f"CAN_MANAGE on the parent folder {parent}"
            raise denied(f"creating workspace folder {path}", right, exc) from None
        result["created"].append(path)
    return result


def make_env_dirs(env: str, settings: DeploymentConfig, client: Any = None) -> dict[str, list[str]]:
    """Folders from an environment's validated ``deployment`` section (``workspace.root``, ``workspace.regions``)."""
    return make_workspace_dirs(workspace_root(env, settings), settings.workspace.regions, client)
