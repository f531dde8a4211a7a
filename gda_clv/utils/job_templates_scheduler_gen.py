"""Quartz cron schedules for the workflows of conf/templates.yml, written back into the file in place.

A workflow's ``schedule`` spec says ``every: daily | weekly | hourly``, ``at: "HH:MM"`` (``":MM"`` for hourly),
``day: MON`` (weekly), ``timezone``, or ``after: <workflow>`` with ``offset: 2h30m`` to start after another
workflow. ``generate`` writes ``quartz_cron_expression`` next to the spec; ``--start-in 15m`` writes
``overrides.dev`` (a daily, unpaused schedule starting that long from now) for a smoke run in dev. The file is
edited as text at the exact positions PyYAML reports, so its comments and key order stay as they were.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from gda_clv.errors import ConfigError
from gda_clv.utils.config_utils import parse_yaml_mapping

DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
SMOKE_ENV = "dev"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")

# Quartz fields: (name, low, high, names usable instead of numbers, special characters allowed)
_QUARTZ_FIELDS = (
    ("seconds", 0, 59, (), ""), ("minutes", 0, 59, (), ""), ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"), ("month", 1, 12, MONTHS, ""), ("day-of-week", 1, 7, DAYS, "?L#"),
    ("year", 1970, 2099, (), ""),
)


def parse_duration(text: str, field: str) -> int:
    """Minutes in ``"15m"``, ``"2h"`` or ``"1h30m"``; raises ``ConfigError`` naming ``field`` for anything else."""
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ConfigError(f"{field}: '{text}' is not a duration; use e.g. 15m, 2h or 1h30m")
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def _value(token: str, names: tuple[str, ...], low: int, high: int, field: str) -> str | None:
    """Why a single quartz value is invalid, or None."""
    if token.upper() in names:
        return None
    if not token.isdigit():
        return f"{field} value '{token}' is not a number" + (f" or one of {','.join(names)}" if names else "")
    if not low <= int(token) <= high:
        return f"{field} value {token} is out of range {low}-{high}"
    return None


def _quartz_field_error(text: str, field: str, low: int, high: int, names: tuple[str, ...], special: str) -> str | None:
    for item in text.split(","):
        if item == "?" and "?" in special or item == "L" and "L" in special or item == "LW" and "W" in special:
            continue
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"{field} step '{step}' is not a positive number"
        if "#" in base and "#" in special:
            day, _, nth = base.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                return f"{field} '#{nth}' must be 1-5"
            base = day
        if base.endswith(("L", "W")) and base[:-1] and base[-1] in special:
            base = base[:-1]
        if base == "*":
            continue
        for token in base.split("-", 1):
            reason = _value(token, names, low, high, field)
            if reason:
                return reason
    return None


def quartz_error(expression: str) -> str | None:
    """Why ``expression`` is not a valid Quartz cron expression (6 or 7 fields), or None when it is."""
    fields = str(expression).split()
    if len(fields) not in (6, 7):
        return f"it has {len(fields)} fields; Quartz needs 6 or 7 (sec min hour day-of-month month day-of-week [year])"
    for text, (name, low, high, names, special) in zip(fields, _QUARTZ_FIELDS[: len(fields)], strict=True):
        reason = _quartz_field_error(text, name, low, high, names, special)
        if reason:
            return reason
    if (fields[3] == "?") == (fields[5] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def _cron(every: str, weekday: int | None, minute_of_day: int) -> str:
    hour, minute = divmod(minute_of_day, 60)
    if every == "hourly":
        return f"0 {minute} * * * ?"
    if weekday is not None:  # only weekly schedules resolve to a day
        return f"0 {minute} {hour} ? * {DAYS[weekday]}"
    return f"0 {minute} {hour} * * ?"


class _Resolver:
    """Start times of all scheduled workflows, following ``after`` chains (cycles are an error)."""

    def __init__(self, specs: Mapping[str, Mapping[str, Any]], roots_at: dict[str, int] | None = None):
        self.specs = specs
        self.roots_at = roots_at  # minute of day for workflows without `after` (start-in mode)
        self.done: dict[str, tuple[int | None, int]] = {}

    def resolve(self, key: str, chain: tuple[str, ...] = ()) -> tuple[int | None, int]:
        """(weekday or None, minute of day) when workflow ``key`` starts."""
        if key in chain:
            raise ConfigError(f"workflow '{key}', field schedule.after: schedules form a cycle: "
                              f"{' -> '.join((*chain, key))}")
        if key not in self.done:
            self.done[key] = self._compute(key, (*chain, key))
        return self.done[key]

    def _compute(self, key: str, chain: tuple[str, ...]) -> tuple[int | None, int]:
        spec, where = self.specs[key], f"workflow '{key}', field schedule"
        every = spec.get("every")
        if every not in ("daily", "weekly", "hourly"):
            raise ConfigError(f"{where}.every: '{every}' is not one of daily, weekly, hourly")
        day = spec.get("day")
        if day is not None and str(day).upper() not in DAYS:
            raise ConfigError(f"{where}.day: '{day}' is not one of {', '.join(DAYS)}")
        weekday = DAYS.index(str(day).upper()) if day is not None else None
        if "after" in spec:
            after = spec["after"]
            if after not in self.specs:
                raise ConfigError(f"{where}.after: '{after}' is not a scheduled workflow; "
                                  f"scheduled: {sorted(self.specs)}")
            base_day, base_minute = self.resolve(after, chain)
            total = base_minute + parse_duration(spec.get("offset", "0m"), f"{where}.offset")
            shift, minute = divmod(total, 24 * 60)
            if base_day is not None:
                weekday = (base_day + shift) % 7
        elif self.roots_at is not None:
            minute = self.roots_at[key]
        else:
            minute = self._at(spec.get("at"), every, f"{where}.at")
        if every == "weekly" and weekday is None:
            raise ConfigError(f"{where}.day: a weekly schedule needs a day (one of {', '.join(DAYS)})")
        return (weekday if every == "weekly" else None), minute

    @staticmethod
    def _at(at: Any, every: str, field: str) -> int:
        match = re.match(r"^(\d{1,2})?:(\d{2})$", str(at or ""))
        if not match or (every != "hourly" and match.group(1) is None):
            raise ConfigError(f"{field}: '{at}' is not a time; use \"HH:MM\" (\":MM\" for hourly)")
        hour, minute = int(match.group(1) or 0), int(match.group(2))
        if hour > 23 or minute > 59:
            raise ConfigError(f"{field}: '{at}' is not a time of day")
        return hour * 60 + minute


def _now_minute(timezone: str, start_in: int, now: dt.datetime, field: str) -> int:
    try:
        local = now.astimezone(ZoneInfo(timezone)) + dt.timedelta(minutes=start_in)
    except ZoneInfoNotFoundError:
        raise ConfigError(f"{field}: '{timezone}' is not a known time zone (e.g. UTC, America/New_York)") from None
    return local.hour * 60 + local.minute


def schedule_updates(templates: Mapping[str, Any], start_in: str | None = None,
                     now: dt.datetime | None = None) -> dict[tuple[str, ...], str]:
    """The schedule values to write: {path in templates.yml: value}."""
    workflows = templates.get("workflows") or {}
    specs = {k: (w.get("schedule") or {}) for k, w in workflows.items() if (w or {}).get("schedule")}
    updates: dict[tuple[str, ...], str] = {}
    for key, (weekday, minute) in ((k, _Resolver(specs).resolve(k)) for k in specs):
        updates[("workflows", key, "schedule", "quartz_cron_expression")] = _cron(specs[key]["every"], weekday, minute)
    if start_in is not None:
        delta = parse_duration(start_in, "--start-in")
        now = now or dt.datetime.now(dt.timezone.utc)
        roots = {k: _now_minute(s.get("timezone", "UTC"), delta, now, f"workflow '{k}', field schedule.timezone")
                 for k, s in specs.items()}
        smoke = _Resolver({k: {**s, "every": "daily"} for k, s in specs.items()}, roots_at=roots)
        for key in specs:
            base = ("workflows", key, "schedule", "overrides", SMOKE_ENV)
            updates[(*base, "quartz_cron_expression")] = _cron("daily", None, smoke.resolve(key)[1])
            updates[(*base, "pause_status")] = "UNPAUSED"
    return updates


def _find(node: yaml.Node | None, path: tuple[str, ...]) -> tuple[yaml.MappingNode, int, yaml.Node | None]:
    """(deepest existing mapping on ``path``, how many keys of path it covers, the node at ``path`` if present)."""
    depth = 0
    while depth < len(path):
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(f"templates.yml: {'.'.join(path[:depth])} must be a mapping")
        child = next((v for k, v in node.value if k.value == path[depth]), None)
        if child is None:
            return node, depth, None
        if depth == len(path) - 1:
            return node, depth + 1, child
        node, depth = child, depth + 1
    raise AssertionError("unreachable")


def _last_line(node: yaml.Node) -> int:
    """0-based line of the last character of a node's content (ignores trailing comments and blank lines)."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value:
        return _last_line(node.value[-1])
    end = node.end_mark
    return end.line - 1 if end.column == 0 else end.line


def set_yaml_scalar(text: str, path: tuple[str, ...], value: str) -> str:
    """Set the string at ``path`` (creating missing block mappings) without touching any other byte.

    Returns the new text; raises ``ConfigError`` when ``path`` holds more than a single value or a parent on it is
    not a block mapping.
    """
    mapping, depth, found = _find(yaml.compose(text), path)
    rendered = json.dumps(value)
    lines = text.splitlines(keepends=True)
    if found is not None:
        if not isinstance(found, yaml.ScalarNode):
            raise ConfigError(f"templates.yml: {'.'.join(path)} must be a single value")
        start, end = found.start_mark.index, found.end_mark.index
        return text[:start] + rendered + text[end:]
    if mapping.flow_style:
        raise ConfigError(f"templates.yml: {'.'.join(path[:depth])} must be a block mapping to add {path[depth]}")
    indent = mapping.value[0][0].start_mark.column if mapping.value else 0
    block = []
    for level, key in enumerate(path[depth:]):
        tail = f" {rendered}" if level == len(path) - depth - 1 else ""
        block.append(" " * (indent + 2 * level) + f"{key}:{tail}\n")
    after = _last_line(mapping) + 1
    if after > 0 and not lines[after - 1].endswith("\n"):
        lines[after - 1] += "\n"
    return "".join(lines[:after] + block + lines[after:])


def remove_yaml_key(text: str, path: tuple[str, ...]) -> str:
    """Delete the key at ``path`` and its whole value (no-op when absent)."""
    mapping, depth, found = _find(yaml.compose(text), path)
    if found is None:
        return text
    key_node = next(k for k, v in mapping.value if v is found)
    lines = text.splitlines(keepends=True)
    return "".join(lines[: key_node.start_mark.line] + lines[_last_line(found) + 1:])


def write_schedules(path: Path, start_in: str | None = None, clear_overrides: bool = False,
                    now: dt.datetime | None = None) -> dict[str, Any]:
    """Rewrite ``path`` (templates.yml) with generated schedules; returns {workflow: {env or 'all': cron}}."""
    text = path.read_text(encoding="utf-8")
    templates = parse_yaml_mapping(text, str(path))
    if clear_overrides:
        for key in templates.get("workflows") or {}:
            text = remove_yaml_key(text, ("workflows", key, "schedule", "overrides"))
    updates = schedule_updates(templates, start_in, now)
    for key_path, value in updates.items():
        text = set_yaml_scalar(text, key_path, value)
    path.write_text(text, encoding="utf-8")
    summary: dict[str, Any] = {}
    for key_path, value in updates.items():
        if key_path[-1] == "quartz_cron_expression":
            env = key_path[4] if len(key_path) > 5 else "all"
            summary.setdefault(key_path[1], {})[env] = value
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `gda-clv schedule`."""
    parser.add_argument("--templates", type=Path, default=Path("conf/templates.yml"),
                        help="templates file to rewrite in place (default: conf/templates.yml)")
    parser.add_argument("--start-in", metavar="DURATION",
                        help="also write dev overrides: daily, unpaused, first run DURATION from now (e.g. 15m)")
    parser.add_argument("--clear-overrides", action="store_true",
                        help="remove the per-environment schedule overrides written by --start-in")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """`gda-clv schedule`: summary {"templates": path, "schedules": {workflow: {"all"|"dev": cron}}}.

    Raises ``ConfigError`` when ``--templates`` does not exist.
    """
    if not args.templates.is_file():
        raise ConfigError(f"--templates: {args.templates} does not exist")
    schedules = write_schedules(args.templates, args.start_in, args.clear_overrides)
    return {"templates": str(args.templates), "schedules": schedules}
