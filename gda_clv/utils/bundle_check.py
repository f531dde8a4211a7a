"""Offline check of a rendered Asset Bundle against the Databricks CLI's bundle schema and rules.

Top-level, target, workspace and artifact keys follow the CLI's configuration (``bundle/config`` Root, Target,
Workspace, Artifact); every resource is read by the ``databricks-bundles`` model of its kind (``from_dict``: an
unknown field, a wrong type or an invalid enum value such as a permission level is an error). Artifact paths must
be Unity Catalog volumes or workspace files, and nothing may reference DBFS root.
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.config_utils import parse_yaml_mapping

ROOT_KEYS = {"bundle", "include", "workspace", "artifacts", "resources", "targets", "variables", "sync", "run_as",
             "experimental", "permissions", "presets", "scripts", "python", "environments"}
TARGET_KEYS = {"default", "mode", "compute_id", "cluster_id", "bundle", "workspace", "artifacts", "resources",
               "variables", "git", "run_as", "sync", "permissions", "presets"}
WORKSPACE_KEYS = {"host", "profile", "auth_type", "root_path", "artifact_path", "file_path", "resource_path",
                  "state_path", "client_id", "azure_client_id", "azure_tenant_id", "azure_environment",
                  "azure_login_app_id", "azure_workspace_resource_id", "azure_use_msi", "google_service_account",
                  "account_id", "metadata_service_url"}
ARTIFACT_KEYS = {"type", "path", "build", "files", "executable", "dynamic_version"}
ARTIFACT_PATH = re.compile(r"^(/Volumes/[^/]+/[^/]+/[^/]+|/Workspace)(/.*)?$")
# DBFS root: dbfs:/... or the /dbfs/ FUSE mount, except Unity Catalog volumes reached through the dbfs: scheme.
DBFS_ROOT = re.compile(r"(dbfs:/+|/dbfs/)(?!Volumes/)")


def _resource_models() -> dict[str, Any]:
    from databricks.bundles.dashboards import Dashboard
    from databricks.bundles.experiments import MlflowExperiment
    from databricks.bundles.jobs import Job
    from databricks.bundles.volumes import Volume

    return {"jobs": Job, "experiments": MlflowExperiment, "volumes": Volume, "dashboards": Dashboard}


def dbfs_root_references(text: str) -> list[str]:
    """The lines of ``text`` that reference DBFS root."""
    return [line.strip() for line in text.splitlines() if DBFS_ROOT.search(line)]


def _unknown(where: str, found: Iterable[str], allowed: set[str]) -> None:
    unknown = sorted(set(found) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown} (the Databricks CLI bundle schema allows "
                          f"{sorted(allowed)})")


def _check_workspace(where: str, workspace: Any) -> None:
    if not isinstance(workspace, Mapping):
        raise ConfigError(f"{where}.workspace: must be a mapping, got {workspace!r}")
    _unknown(f"{where}.workspace", workspace, WORKSPACE_KEYS)
    path = workspace.get("artifact_path")
    if path is not None and not ARTIFACT_PATH.match(str(path)):
        raise ConfigError(f"{where}.workspace.artifact_path: '{path}' must be a Unity Catalog volume "
                          "/Volumes/<catalog>/<schema>/<volume>/... or a /Workspace path (DBFS root is disabled)")


def _check_resources(where: str, resources: Any) -> None:
    models = _resource_models()
    if not isinstance(resources, Mapping):
        raise ConfigError(f"{where}.resources: must be a mapping, got {resources!r}")
    _unknown(f"{where}.resources", resources, set(models))
    for kind, items in resources.items():
        for key, spec in (items or {}).items():
            if kind == "jobs":
                for task in (spec or {}).get("tasks", []) if isinstance(spec, Mapping) else []:
                    _from_dict(f"{where}.resources.jobs.{key}, task '{task.get('task_key')}'",
                               _task_model(), task)
            _from_dict(f"{where}.resources.{kind}.{key}", models[kind], spec)


def _task_model() -> Any:
    from databricks.bundles.jobs import Task

    return Task


def _from_dict(where: str, model: Any, spec: Any) -> None:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: must be a mapping, got {spec!r}")
    try:
        model.from_dict(dict(spec))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{where}: databricks-bundles rejected it: {exc}") from None


def _check_root(name: str, root: Mapping[str, Any], is_main: bool) -> None:
    _unknown(name, root, ROOT_KEYS if is_main else ROOT_KEYS - {"bundle", "include"})
    if "workspace" in root:
        _check_workspace(name, root["workspace"])
    for key, artifact in (root.get("artifacts") or {}).items():
        _unknown(f"{name}.artifacts.{key}", artifact or {}, ARTIFACT_KEYS)
    if "resources" in root:
        _check_resources(name, root["resources"])
    for target, spec in (root.get("targets") or {}).items():
        where = f"{name}.targets.{target}"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: must be a mapping, got {spec!r}")
        _unknown(where, spec, TARGET_KEYS)
        if "workspace" in spec:
            _check_workspace(where, spec["workspace"])
        if "resources" in spec:
            _check_resources(where, spec["resources"])


def check_bundle(files: Mapping[str, str]) -> None:
    """Check rendered bundle files ``{relative path: YAML text}`` (``databricks.yml`` plus included files).

    Raises ConfigError naming every problem found.
    """
    if "databricks.yml" not in files:
        raise ConfigError("bundle: databricks.yml is missing")
    for name, text in files.items():
        found = dbfs_root_references(text)
        if found:
            raise ConfigError(f"bundle {name}: references DBFS root ({found[0]}); use a Unity Catalog volume")
        if not name.endswith(".yml"):
            continue  # a file a resource references (a dashboard's .lvdash.json)
        root = parse_yaml_mapping(text, f"bundle {name}")
        _check_root(name, root, name == "databricks.yml")
        _check_files(name, root, files)


def _check_files(name: str, root: Mapping[str, Any], files: Mapping[str, str]) -> None:
    """Every dashboard's ``file_path`` (relative to the file declaring it) is one of the bundle's files."""
    scopes = [root, *((root.get("targets") or {}).values())]
    for scope in scopes:
        for key, spec in ((scope.get("resources") or {}).get("dashboards") or {}).items():
            path = posixpath.normpath(posixpath.join(posixpath.dirname(name), spec.get("file_path", "")))
            if path not in files:
                raise ConfigError(f"bundle {name}: dashboard '{key}' file_path {spec.get('file_path')} is not in "
                                  f"the bundle (looked for {path})")
