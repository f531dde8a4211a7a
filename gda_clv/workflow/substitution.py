"""Dynamic value references (``{{job.run_id}}``, ``{{tasks.<key>.values.<name>}}``, ...) in task parameters."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from gda_clv.errors import ConfigError

REFERENCE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def job_references(job_run_id: str, job_id: str, start: datetime) -> dict[str, str]:
    """The job-level references Databricks resolves at run start."""
    return {
        "job.run_id": job_run_id,
        "job.id": job_id,
        "job.start_time.iso_date": start.date().isoformat(),
        "job.start_time.iso_datetime": start.isoformat(timespec="seconds"),
        "job.start_time.timestamp": str(int(start.timestamp() * 1000)),
    }


def task_value_references(values: Mapping[str, Mapping[str, object]]) -> dict[str, str]:
    """``tasks.<key>.values.<name>`` for every task value set by a finished task."""
    return {f"tasks.{key}.values.{name}": _text(value)
            for key, named in values.items() for name, value in named.items()}


def substitute(parameter: str, references: Mapping[str, str], task_key: str) -> str:
    """``parameter`` with every ``{{ref}}`` replaced; ConfigError naming the first reference that cannot resolve."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in references:
            raise ConfigError(
                f"task '{task_key}': dynamic value reference '{{{{{name}}}}}' cannot be resolved "
                f"(known here: {sorted(references)}); a task value must be set by a task this task depends_on"
            )
        return references[name]

    return REFERENCE.sub(replace, parameter)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
