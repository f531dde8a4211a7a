"""The one rule for an environment's workspace paths: root folder, MLflow experiment, artifact locations.

``deployment.workspace`` of conf/environments/<env>.yml holds ``root`` (default ``/Shared/gda_clv/<env>``) and
``volume`` (a Unity Catalog volume ``/Volumes/<catalog>/<schema>/<volume>``). The jobs' experiment is
``<root>/<region>/experiments/clv``; its parent ``<root>/<region>/experiments`` is a folder created at deploy.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.config_schema import Config

EXPERIMENT_NAME = "clv"
VOLUME = re.compile(r"^/Volumes/[^/]+/[^/]+/[^/]+$")


def workspace_root(env: str, deployment: Mapping[str, Any]) -> str:
    """``deployment.workspace.root`` without a trailing slash, default ``/Shared/gda_clv/<env>``.

    Raises ConfigError when the root is not absolute.
    """
    root = str((deployment.get("workspace") or {}).get("root") or f"/Shared/gda_clv/{env}").rstrip("/")
    if not root.startswith("/"):
        raise ConfigError(f"deployment.workspace.root: '{root}' must be an absolute workspace path like /Shared/x")
    return root


def experiment_parent(root: str, region: str) -> str:
    """The folder holding a region's experiment (created at deploy, never the experiment itself)."""
    return f"{root.rstrip('/')}/{region}/experiments"


def experiment_path(root: str, region: str) -> str:
    """The MLflow experiment the jobs of ``region`` log to."""
    return f"{experiment_parent(root, region)}/{EXPERIMENT_NAME}"


def registered_model_name(config: Config, kind: str) -> str:
    """``clv_frequency`` locally, ``catalog.schema.clv_frequency`` in Unity Catalog; kind: frequency or monetary."""
    name: str = getattr(config.model.registry, f"{kind}_name")
    if config.runtime.backend == "databricks":
        return f"{config.tables.catalog}.{config.tables.schema_}.{name}"
    return name


def volume(deployment: Mapping[str, Any], where: str = "deployment.workspace.volume") -> str:
    """The environment's Unity Catalog volume ``/Volumes/<catalog>/<schema>/<volume>``.

    Raises ConfigError when the volume path is not a UC volume.
    """
    value = str((deployment.get("workspace") or {}).get("volume") or "").rstrip("/")
    if not VOLUME.match(value):
        raise ConfigError(f"{where}: '{value}' must be a Unity Catalog volume /Volumes/<catalog>/<schema>/<volume> "
                          "(DBFS root is disabled on new workspaces)")
    return value


def bundle_artifact_path(deployment: Mapping[str, Any]) -> str:
    """Asset Bundle ``workspace.artifact_path``: the wheel goes to the environment's volume."""
    return f"{volume(deployment)}/artifacts/bundle"


def dbx_artifact_location(deployment: Mapping[str, Any]) -> str:
    """dbx 0.8.19 ``--artifact-location``: dbx uploads through an MLflow experiment, and MLflow writes a
    ``dbfs:/Volumes/...`` location to the UC volume through the Files API (not DBFS root)."""
    return f"dbfs:{volume(deployment)}/artifacts/dbx"
