"""The one rule for an environment's workspace paths: root folder, MLflow experiment, artifact locations.

``deployment.workspace`` of conf/environments/<env>.yml holds ``root`` (default ``/Shared/gda_clv/<env>``) and
``volume`` (a Unity Catalog volume ``/Volumes/<catalog>/<schema>/<volume>``). The jobs' experiment is
``<root>/<region>/experiments/clv``; its parent ``<root>/<region>/experiments`` is a folder created at deploy.
"""
from __future__ import annotations

from gda_clv.utils.config_schema import Config, DeployableConfig, DeploymentConfig

EXPERIMENT_NAME = "clv"


def workspace_root(env: str, deployment: DeploymentConfig) -> str:
    """``deployment.workspace.root`` without a trailing slash, default ``/Shared/gda_clv/<env>``."""
    return (deployment.workspace.root or f"/Shared/gda_clv/{env}").rstrip("/")


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


def volume(deployment: DeployableConfig) -> str:
    """The environment's Unity Catalog volume ``/Volumes/<catalog>/<schema>/<volume>``."""
    return deployment.workspace.volume.rstrip("/")


def bundle_artifact_path(deployment: DeployableConfig) -> str:
    """Asset Bundle ``workspace.artifact_path``: the wheel goes to the environment's volume."""
    return f"{volume(deployment)}/artifacts/bundle"


def dbx_artifact_location(deployment: DeployableConfig) -> str:
    """dbx 0.8.19 ``--artifact-location``: dbx uploads through an MLflow experiment, and MLflow writes a
    ``dbfs:/Volumes/...`` location to the UC volume through the Files API (not DBFS root)."""
    return f"dbfs:{volume(deployment)}/artifacts/dbx"
