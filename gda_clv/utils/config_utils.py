"""Load, merge and validate configuration.

Layers, later ones win: ``conf/base.yml`` -> ``conf/models/<region>/clv.yml`` -> ``conf/datasets/<format>.yml``
(only for a source format that has one: the CDNOW layout's literature dates) -> ``conf/environments/<env>.yml``
-> each ``--conf-file`` -> each ``--set dotted.key=value`` (value parsed as YAML). The merged dict is validated once
into :class:`~gda_clv.utils.config_schema.Config`; a mistake fails with the key, the file it came from and what is
allowed.
"""
from __future__ import annotations

import argparse
import copy
import os
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gda_clv.errors import ConfigError
from gda_clv.utils.config_schema import Config

CONF_DIR_ENV_VAR = "GDA_CLV_CONF_DIR"
SET_ORIGIN = "--set"
DEFAULT_ORIGIN = "defaults"


def default_conf_dir() -> Path:
    """``$GDA_CLV_CONF_DIR``, else the repo's conf/ in a source checkout, else the copy shipped in the wheel."""
    if os.environ.get(CONF_DIR_ENV_VAR):
        return Path(os.environ[CONF_DIR_ENV_VAR])
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent / "conf"
    return checkout if (checkout / "base.yml").is_file() else package / "conf"


def resolve_state_dir(state_dir: str | Path, conf_dir: Path | None = None) -> Path:
    """``runtime.state_dir`` as an absolute path, the same whatever folder a command is started from.

    A relative path is anchored at the project root (the folder holding ``conf/``: the checkout, or the parent of
    ``$GDA_CLV_CONF_DIR``); with only the conf shipped in the wheel, at the user's home folder.
    """
    path = Path(state_dir).expanduser()
    if path.is_absolute():
        return path
    conf_dir = (Path(conf_dir) if conf_dir else default_conf_dir()).resolve()
    shipped = conf_dir == Path(__file__).resolve().parents[1] / "conf"
    return ((Path.home() if shipped else conf_dir.parent) / path).resolve()


def available_envs(conf_dir: Path) -> list[str]:
    """Names of the environments with a file in ``conf_dir/environments``, sorted."""
    return sorted(p.stem for p in (conf_dir / "environments").glob("*.yml"))


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so the schema reports a bad date instead of YAML crashing on it."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; an empty file is an empty mapping.

    Raises ``ConfigError`` when the file is missing, is not valid YAML or its top level is not a mapping.
    """
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    return parse_yaml_mapping(path.read_text(encoding="utf-8"), str(path))


def parse_yaml_mapping(text: str, origin: str) -> dict[str, Any]:
    """The YAML mapping in ``text`` (from ``origin``, named in errors); empty text is an empty mapping.

    gda_clv's one YAML reader: dates stay text. Raises ``ConfigError`` when the text is not valid YAML or its top
    level is not a mapping.
    """
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def parse_set(item: str) -> dict[str, Any]:
    """``a.b.c=value`` -> ``{"a": {"b": {"c": value}}}`` with value parsed as YAML.

    Raises ``ConfigError`` when ``item`` is not ``dotted.key=value`` or the value is not valid YAML.
    """
    key, sep, raw = item.partition("=")
    if not sep or not key.strip() or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {item!r}: expected dotted.key=value, e.g. --set data.freq=W")
    try:
        value = _parse_yaml(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {item!r}: the value is not valid YAML: {exc}") from exc
    nested: dict[str, Any] = {}
    cursor = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return nested


@dataclass
class MergedConfig:
    """A merged config dict and, for every dotted key, the layer that set it last."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def overlay(self, layer: Mapping[str, Any], origin: str) -> None:
        """Merge ``layer`` over the data (mappings recursively, anything else replaced), recording ``origin``."""
        _merge_into(self.data, layer, origin, self.origins, prefix="")

    def origin_of(self, dotted: str) -> str:
        """The layer that set ``dotted`` or its nearest parent."""
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            if key in self.origins:
                return self.origins[key]
        return DEFAULT_ORIGIN


def _merge_into(
    target: dict[str, Any], layer: Mapping[str, Any], origin: str, origins: dict[str, str], prefix: str
) -> None:
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            origins.setdefault(dotted, origin)
            _merge_into(target[key], value, origin, origins, prefix=f"{dotted}.")
        else:
            target[key] = copy.deepcopy(value)
            for stale in [k for k in origins if k.startswith(f"{dotted}.")]:  # a replaced mapping's keys are gone
                del origins[stale]
            origins[dotted] = origin
            _record_children(value, origin, origins, prefix=f"{dotted}.")


def _record_children(value: Any, origin: str, origins: dict[str, str], prefix: str) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            origins[f"{prefix}{key}"] = origin
            _record_children(child, origin, origins, prefix=f"{prefix}{key}.")


def merge_layers(
    env: str,
    conf_dir: Path | None = None,
    conf_files: Sequence[str | Path] = (),
    overrides: Sequence[str] = (),
) -> MergedConfig:
    """All layers for ``env`` merged, with the origin of every key.

    Raises ``ConfigError`` for an unknown environment, a region without ``models/<region>/clv.yml`` or a layer that
    cannot be read (see :func:`load_yaml`, :func:`parse_set`).
    """
    conf_dir = Path(conf_dir) if conf_dir else default_conf_dir()
    envs = available_envs(conf_dir)
    if env not in envs:
        raise ConfigError(
            f"unknown environment {env!r}; choose one of {', '.join(envs)} (files in {conf_dir / 'environments'})"
        )
    base_path, env_path = conf_dir / "base.yml", conf_dir / "environments" / f"{env}.yml"
    later: list[tuple[dict[str, Any], str]] = [(load_yaml(env_path), str(env_path))]
    later += [(load_yaml(Path(f)), str(f)) for f in conf_files]
    later += [(parse_set(item), f"{SET_ORIGIN} {item}") for item in overrides]

    probe = MergedConfig()
    probe.overlay(load_yaml(base_path), str(base_path))
    for layer, origin in later:
        probe.overlay(layer, origin)
    region = probe.data.get("region", "NOAM")
    source_format = (probe.data.get("data") or {}).get("source", {}).get("format")

    merged = MergedConfig()
    merged.overlay({"env": env}, f"--env {env}")
    merged.overlay(load_yaml(base_path), str(base_path))
    model_path = conf_dir / "models" / str(region) / "clv.yml"
    if not model_path.is_file():
        regions = sorted(p.parent.name for p in (conf_dir / "models").glob("*/clv.yml"))
        raise ConfigError(
            f"region {region!r} (from {probe.origin_of('region')}) has no model settings: {model_path} does not "
            f"exist. Set region to one of {', '.join(regions) or 'none yet'}, or create that file "
            "(conf/models/NOAM/clv.yml is an example)."
        )
    merged.overlay(load_yaml(model_path), str(model_path))
    dataset_path = conf_dir / "datasets" / f"{source_format}.yml"
    if isinstance(source_format, str) and dataset_path.is_file():  # the dataset's own dates (CDNOW's split)
        merged.overlay(load_yaml(dataset_path), str(dataset_path))
    for layer, origin in later:
        merged.overlay(layer, origin)
    return merged


def load_config(
    env: str,
    conf_dir: Path | None = None,
    conf_files: Sequence[str | Path] = (),
    overrides: Sequence[str] = (),
) -> Config:
    """The validated configuration of ``env``; raises ConfigError naming key, origin and what is allowed."""
    return validate(merge_layers(env, conf_dir, conf_files, overrides))


def validate(merged: MergedConfig) -> Config:
    """``merged`` as a :class:`Config`; raises ConfigError naming each wrong key, its origin and what is allowed."""
    try:
        return Config.model_validate(merged.data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, merged)) from None


def format_validation_error(exc: ValidationError, merged: MergedConfig) -> str:
    """The message of a failed validation: one line per problem with the dotted key, what is allowed and the layer
    that set the key."""
    lines = [f"invalid configuration ({exc.error_count()} problem{'s' if exc.error_count() > 1 else ''}):"]
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not _is_marker(str(part))]
        dotted = ".".join(loc)
        message = _describe(error, dotted, loc)
        lines.append(f"  - {message} (from {', '.join(_origins(merged, dotted, message))})")
    return "\n".join(lines)


def _is_marker(part: str) -> bool:
    """A part of pydantic's error location that is no key of the file: a validator, a union member's tag."""
    return part.startswith("function-after") or (part.startswith("[") and part.endswith("]") and part != "[key]")


def _origins(merged: MergedConfig, dotted: str, message: str) -> list[str]:
    """Where the keys a message talks about were set: the key itself, or the children it names."""
    named = [
        key for key in merged.origins
        if key.startswith(f"{dotted}.") and key.count(".") == dotted.count(".") + 1 and key.rsplit(".", 1)[1] in message
    ]
    found = dict.fromkeys(merged.origin_of(key) for key in named) if named else {merged.origin_of(dotted): None}
    return list(found)


def _describe(error: Mapping[str, Any], dotted: str, loc: list[str]) -> str:
    kind, value = error["type"], error.get("input")
    if loc[-1:] == ["[key]"]:  # a mapping's key itself is wrong
        loc, dotted = loc[:-1], ".".join(loc[:-1])
        if kind == "literal_error":
            return f"unknown key '{dotted}'; allowed under '{'.'.join(loc[:-1])}': {error['ctx']['expected']}"
    if kind == "extra_forbidden":
        parent = ".".join(loc[:-1])
        allowed = ", ".join(sorted(_allowed_keys(loc[:-1])))
        where = f"under '{parent}'" if parent else "at the top level"
        return f"unknown key '{dotted}'; allowed {where}: {allowed}"
    if kind == "literal_error":
        return f"'{dotted}' must be one of {error['ctx']['expected']}, got {value!r}"
    if kind in {"date_from_datetime_parsing", "date_parsing", "date_type", "date_from_datetime_inexact"}:
        return f"'{dotted}' must be a date written YYYY-MM-DD, got {value!r}"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"'{dotted}' must be a whole number, got {value!r}"
    if kind == "finite_number":
        return f"'{dotted}' must be a finite number, got {value!r}"
    if kind in {"float_parsing", "float_type"}:
        return f"'{dotted}' must be a number, got {value!r}"
    if kind in {"bool_parsing", "bool_type"}:
        return f"'{dotted}' must be true or false, got {value!r}"
    if kind in {"string_type"}:
        return f"'{dotted}' must be text, got {value!r}"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"'{dotted}' must be a mapping of keys, got {value!r}"
    if kind in {"list_type"}:
        return f"'{dotted}' must be a list, got {value!r}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        bound = next(iter(error["ctx"].items()))
        words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
        return f"'{dotted}' must be {words[bound[0]]} {bound[1]}, got {value!r}"
    if kind == "missing":
        top = dotted.split(".")[0]
        home = "conf/models/<region>/clv.yml" if top == "model" else "conf/base.yml"
        return f"'{dotted}' is required: every key has its default in {home} (the shipped file lists them all)"
    if kind == "value_error":
        return f"'{dotted}': {error['ctx']['error']}"
    if kind == "too_short":
        return f"'{dotted}' needs at least {error['ctx']['min_length']} entry, got {value!r}"
    if kind == "one_principal":
        return f"'{dotted}': {error['msg']}, got {value!r}"
    return f"'{dotted}': {error['msg']}, got {value!r}"


def _allowed_keys(loc: list[str]) -> list[str]:
    models: list[type[BaseModel]] = [Config]
    mapping = False  # the part after a mapping field is one of its keys
    for part in loc:
        if part.isdigit() or mapping:
            mapping = False
            continue
        infos = [model.model_fields.get(part) or next((f for f in model.model_fields.values() if f.alias == part), None)
                 for model in models]
        annotations = [info.annotation for info in infos if info is not None]
        mapping = any(typing.get_origin(a) is dict for a in annotations)
        models = [found for annotation in annotations for found in _models_in(annotation)]
        if not models:
            return []
    return sorted({f.alias or name for model in models for name, f in model.model_fields.items()})


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds: itself, or the models inside its list, mapping values, union or Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict:
        args = args[1:]
    elif typing.get_origin(annotation) is typing.Annotated:
        args = args[:1]
    return [model for arg in args for model in _models_in(arg)]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every job step takes: --env, --conf-file, --set."""
    parser.add_argument("--env", default="local", help="environment: a file in conf/environments/ (default: local)")
    parser.add_argument(
        "--conf-file", action="append", default=[], metavar="F", help="extra YAML overlaid on the config (repeatable)"
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one key, value parsed as YAML, e.g. --set data.freq=W (repeatable, applied last)",
    )


def config_to_dict(config: Config) -> dict[str, Any]:
    """Plain, JSON-able dict of a config (dates as ISO strings), e.g. for hashing or logging."""
    return config.model_dump(mode="json", by_alias=True)

