"""The inputs job-gen reads: conf/templates.yml, each environment's ``deployment`` section, setup.py's entry points."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.config_utils import parse_yaml_mapping

SETTINGS_REQUIRED = {"job_name_prefix": str, "spark_version": str, "cluster_sizes": dict}
SETTINGS_OPTIONAL = {
    "pause_schedules": bool, "notifications": dict, "access_control": list, "remove_tasks": dict,
    "workspace": dict, "permissions": dict, "webhook_notifications": dict, "quality_monitor": dict, "dashboard": dict,
}
WEBHOOK_EVENTS = ("on_start", "on_success", "on_failure", "on_duration_warning_threshold_exceeded",
                  "on_streaming_backlog_exceeded")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path} does not exist")
    return parse_yaml_mapping(path.read_text(encoding="utf-8"), str(path))


def load_templates(path: Path) -> dict[str, Any]:
    """Parse templates.yml and check its top-level shape.

    Raises ``ConfigError`` for an unknown or missing top-level key.
    """
    templates = _read_yaml(path) or {}
    # handoff: YAML anchors of the task parameters the workflows share (not rendered by itself)
    allowed = {"environments", "package_name", "steps", "defaults", "workflows", "handoff"}
    unknown = sorted(set(templates) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {unknown}; allowed: {sorted(allowed)}")
    for key in ("environments", "steps", "workflows"):
        if not templates.get(key):
            raise ConfigError(f"{path}: '{key}' is missing or empty")
    return templates


def load_settings(conf_dir: Path, env: str) -> dict[str, Any]:
    """The validated ``deployment`` section of conf/environments/<env>.yml.

    Raises ``ConfigError`` when the ``deployment`` section is missing, unknown or mistyped.
    """
    path = conf_dir / f"{env}.yml"
    section = (_read_yaml(path) or {}).get("deployment")
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: a 'deployment' mapping is needed to deploy environment '{env}'")
    kinds = {**SETTINGS_REQUIRED, **SETTINGS_OPTIONAL}
    for key, value in section.items():
        if key not in kinds:
            raise ConfigError(f"{path}: deployment.{key} is not a known setting; allowed: {sorted(kinds)}")
        if not isinstance(value, kinds[key]):
            raise ConfigError(f"{path}: deployment.{key} must be a {kinds[key].__name__}, got {value!r}")
    missing = sorted(set(SETTINGS_REQUIRED) - set(section))
    if missing:
        raise ConfigError(f"{path}: deployment.{missing[0]} is required")
    for key, entry in _principal_entries(section):
        name = entry.get("service_principal_name") if isinstance(entry, Mapping) else None
        if name is not None and not UUID.match(str(name)):
            raise ConfigError(
                f"{path}: {key}.service_principal_name: '{name}' is not a UUID; it must be the service principal's "
                "application id (Databricks account console > Service principals > Application ID), "
                "not its display name")
    _check_webhooks(path, section.get("webhook_notifications") or {})
    return section


def _check_webhooks(path: Path, webhooks: Mapping[str, Any]) -> None:
    """deployment.webhook_notifications: {event: [notification destination id (a UUID)]}."""
    for event, ids in webhooks.items():
        where = f"{path}: deployment.webhook_notifications.{event}"
        if event not in WEBHOOK_EVENTS:
            raise ConfigError(f"{where} is not a job event; allowed: {list(WEBHOOK_EVENTS)}")
        for value in ids if isinstance(ids, list) else [ids]:
            if not isinstance(ids, list) or not UUID.match(str(value)):
                raise ConfigError(
                    f"{where}: '{value}' is not a list of notification destination ids (UUIDs: workspace settings > "
                    "Notifications > Manage destinations > copy the id of the destination)")


def _principal_entries(section: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    """(dotted key, entry) of every access-list entry: deployment.access_control and permissions.experiment."""
    for key in ("access_control", "permissions.experiment"):
        scope = section.get("permissions") or {} if key.startswith("permissions.") else section
        for i, entry in enumerate(scope.get(key.rsplit(".", 1)[-1]) or []):
            yield f"deployment.{key}[{i}]", entry


def setup_entry_points(setup_py: Path) -> set[str]:
    """Console-script names declared in setup.py, read from its source (dict literals and 'name = mod:fn')."""
    names: set[str] = set()
    target = re.compile(r"^[\w.]+:\w+$")
    for node in ast.walk(ast.parse(setup_py.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant) \
                        and target.match(str(value.value)):
                    names.add(str(key.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name, sep, rhs = node.value.partition("=")
            if sep and target.match(rhs.strip()):
                names.add(name.strip())
    return names


