"""Validation by dbx 0.8.19's own reader: :mod:`gda_clv.utils.job_gen.dbx_reader` run with the dbx venv's python."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from gda_clv.errors import ConfigError
from gda_clv.utils.job_gen import dbx_reader


def check_with_dbx(deployment_file: Path, dbx_python: Path, project_file: Path | None = None) -> dict[str, list[str]]:
    """Validation 1: dbx 0.8.19's ConfigReader (in its own venv) reads every environment (and its ProjectInfo the
    project file); returns workflow names. The reader runs isolated (``-I``): only the dbx venv's packages.

    Raises ``ConfigError`` when dbx's reader cannot run or rejects a file.
    """
    extra = [str(project_file)] if project_file is not None else []
    done = subprocess.run([str(dbx_python), "-I", dbx_reader.__file__, str(deployment_file), *extra],
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise ConfigError(f"dbx reader did not run with {dbx_python}: {done.stderr.strip()[-2000:]}")
    result = json.loads(lines[-1])
    if done.returncode == 0:
        environments: dict[str, list[str]] = result["environments"]  # the reader's JSON: {environment: names}
        return environments
    if "project" in result:
        raise ConfigError(f"dbx 0.8.19 rejected its project file {result['project']}: {result['error']}")
    detail = [line.strip() for line in result["error"].splitlines()[1:] if line.strip()]
    match = re.match(r"workflows -> (\d+)", detail[0]) if detail else None
    names = result["workflows"]
    workflow = f", workflow '{names[int(match.group(1))]}'" if match and int(match.group(1)) < len(names) else ""
    raise ConfigError(f"dbx 0.8.19 rejected {deployment_file}, environment '{result['environment']}'{workflow}: "
                      f"{' | '.join(detail) or result['error']}")


