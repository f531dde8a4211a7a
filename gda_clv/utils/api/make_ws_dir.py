"""Create the workspace folder layout of an environment: ROOT, ROOT/<region>, ROOT/<region>/{experiments,jobs}.

Idempotent: folders that exist are reported as existing, never recreated.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.api.client import denied, workspace_client

SUBFOLDERS = ("experiments", "jobs")


def workspace_folders(root: str, regions: Iterable[str]) -> list[str]:
    """The folders of the layout, parents first.

    Raises ``ConfigError`` when ``root`` is not an absolute workspace path.
    """
    root = root.rstrip("/")
    if not root.startswith("/"):
        raise ConfigError(f"deployment.workspace.root: '{root}' must be an absolute workspace path like /Shared/x")
    folders = [root]
    for region in regions:
        folders += [f"{root}/{region}"] + [f"{root}/{region}/{sub}" for sub in SUBFOLDERS]
    return folders


def make_workspace_dirs(root: str, regions: Iterable[str], client: Any = None) -> dict[str, list[str]]:
    """Create the missing folders; returns {"created": [...], "existing": [...]}.

    Raises ``ConfigError`` when a path exists but is not a folder, and a permission error naming the right that is
    missing when the caller may not read or create a folder.
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


def make_env_dirs(settings: dict[str, Any], client: Any = None) -> dict[str, list[str]]:
    """Folders from an environment's validated ``deployment`` section (``workspace.root``, ``workspace.regions``).

    Returns what :func:`make_workspace_dirs` returns; raises ``ConfigError`` when ``workspace.root`` is missing.
    """
    workspace = settings.get("workspace") or {}
    if not workspace.get("root"):
        raise ConfigError("deployment.workspace.root is required to create the workspace folders")
    return make_workspace_dirs(workspace["root"], workspace.get("regions", []), client)
