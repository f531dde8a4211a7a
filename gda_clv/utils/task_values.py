"""Task values: small named results a job task hands to the tasks after it.

On Databricks they are ``dbutils.jobs.taskValues`` and later tasks read them through dynamic value references in
their parameters (``{{tasks.prepare.values.as_of}}``). Locally, ``gda-clv workflow run`` gives each task process
the path of a JSON file in ``GDA_CLV_TASK_VALUES_FILE`` and substitutes the same references from it; outside a
workflow run, setting task values does nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

TASK_VALUES_FILE_ENV_VAR = "GDA_CLV_TASK_VALUES_FILE"
TaskValue = str | int | float | bool | None


def set_task_values(dbutils: Any, **values: TaskValue | dt.date) -> dict[str, TaskValue]:
    """Publish ``values`` (dates as ISO strings) for later tasks of this job run; returns what was published.

    ``dbutils`` is Databricks' (None locally, where the values go to ``$GDA_CLV_TASK_VALUES_FILE`` if set).
    """
    published = {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in values.items()}
    if dbutils is not None:
        for key, value in published.items():
            dbutils.jobs.taskValues.set(key=key, value=value)
        return published
    path = os.environ.get(TASK_VALUES_FILE_ENV_VAR)
    if path:
        target = Path(path)
        current = json.loads(target.read_text()) if target.is_file() else {}
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(json.dumps({**current, **published}, indent=2) + "\n")
        partial.replace(target)  # a reader never sees half a file
    return published
