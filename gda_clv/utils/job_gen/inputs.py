"""The inputs job-gen reads: conf/templates.yml, each environment's ``deployment`` section, setup.py's entry points."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gda_clv.errors import ConfigError
from gda_clv.utils.config_schema import DeployableConfig
from gda_clv.utils.config_utils import format_validation_error, merge_layers, parse_yaml_mapping, validate


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


def load_settings(conf_dir: Path, env: str) -> DeployableConfig:
    """The validated ``deployment`` section of environment ``env``, which must be deployable.

    ``conf_dir``: the conf/environments folder (its parent holds base.yml and the region's model settings, as for
    every step). Raises ``ConfigError`` naming the key and the file that set it when the environment's config is
    invalid or leaves a key a deployment needs unset.
    """
    merged = merge_layers(env, conf_dir.parent)
    validate(merged)
    try:
        return _Deployable.model_validate({"deployment": merged.data.get("deployment")}).deployment
    except ValidationError as exc:
        raise ConfigError(f"environment '{env}' cannot be deployed: {format_validation_error(exc, merged)}") from None


class _Deployable(BaseModel):
    """The deployment section of a merged config, held to :class:`DeployableConfig`."""

    deployment: DeployableConfig


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


