"""Sphinx directive ``.. config-reference::``: every configuration key, generated at build time so it cannot drift.

Keys, types, allowed values and bounds come from :class:`gda_clv.utils.config_schema.Config`; the shipped default
from ``conf/base.yml`` overlaid by ``conf/models/<region>/clv.yml``; the description from the comment on the key's
line in those files; the environments that override a key from ``conf/environments/*.yml``.
"""
from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from pydantic import BaseModel
from sphinx.util.docutils import SphinxDirective

from gda_clv.utils.config_schema import Config

CONF = Path(__file__).resolve().parents[2] / "conf"
_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w-]*):(?P<rest>[^#]*)(#\s*(?P<comment>.*))?$")


@dataclass(frozen=True)
class Row:
    """One configuration key as the reference table shows it."""

    key: str
    type: str
    default: Any
    description: str
    environments: tuple[str, ...]


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict) or not data:
        return {prefix: data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}"))
    return flat


def yaml_comments(path: Path) -> dict[str, str]:
    """Dotted key -> the comment written on that key's line of a block-style YAML file."""
    comments: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in path.read_text().splitlines():
        match = _KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        stack = [(i, k) for i, k in stack if i < indent] + [(indent, match["key"])]
        if match["comment"]:
            comments[".".join(k for _, k in stack)] = match["comment"].strip()
    return comments


def _describe_type(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _describe_type(args[0])
    if origin is typing.Literal:
        return "one of " + " | ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        inner = [_describe_type(a) for a in args if a is not type(None)]
        return " or ".join(inner) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {_describe_type(args[0])}"
    if origin is dict:
        return f"mapping {_describe_type(args[0])} -> {_describe_type(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # an entry of a list or mapping
        return "{" + ", ".join(f"{name}: {_describe_type(field.annotation)}"
                               for name, field in annotation.model_fields.items()) + "}"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(field: Any) -> str:
    found = [f"{sign} {getattr(m, name)}" for m in field.metadata for name, sign in _BOUNDS.items() if hasattr(m, name)]
    return f" ({', '.join(found)})" if found else ""


def _schema_leaves(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    leaves: dict[str, str] = {}
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            leaves.update(_schema_leaves(annotation, f"{key}."))
            continue
        leaves[key] = _describe_type(annotation) + _bounds(field)
    return leaves


def shipped_layers(region: str = "NOAM") -> list[Path]:
    """The files every environment starts from, in overlay order."""
    return [CONF / "base.yml", CONF / "models" / region / "clv.yml"]


def rows(region: str = "NOAM") -> list[Row]:
    """Every key of the schema (``env`` is the command's ``--env``, not a key) with its shipped default."""
    shipped: dict[str, Any] = {}
    comments: dict[str, str] = {}
    for path in shipped_layers(region):
        shipped.update(_flatten(yaml.safe_load(path.read_text()) or {}))
        comments.update(yaml_comments(path))
    env_files = sorted(CONF.glob("environments/*.yml"))
    env_keys = {p.stem: set(_flatten(yaml.safe_load(p.read_text()) or {})) for p in env_files}
    result = []
    for key, type_text in _schema_leaves(Config).items():
        if key == "env":
            continue
        envs = tuple(env for env, keys in env_keys.items() if any(k == key or k.startswith(f"{key}.") for k in keys))
        result.append(Row(key, type_text, shipped.get(key), comments.get(key, ""), envs))
    return result


def _literal(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None or isinstance(value, bool):
        return f"``{json.dumps(value, default=str)}``"
    return f"``{value}``"


class ConfigReference(SphinxDirective):
    """Renders :func:`rows` as a list-table."""

    def run(self) -> list[nodes.Node]:
        for path in [*shipped_layers(), *sorted(CONF.glob("environments/*.yml"))]:
            self.env.note_dependency(str(path))
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 22 22 14 30 12",
            "",
            "   * - key",
            "     - type",
            "     - default",
            "     - meaning (from the comment in the file)",
            "     - overridden by environments",
        ]
        for row in rows():
            lines += [
                f"   * - ``{row.key}``",
                f"     - {row.type}",
                f"     - {_literal(row.default)}",
                f"     - {row.description or ' '}",
                f"     - {', '.join(row.environments) or ' '}",
            ]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="config_reference"), self.content_offset, container)
        return container.children


def setup(app: Any) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("config-reference", ConfigReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
