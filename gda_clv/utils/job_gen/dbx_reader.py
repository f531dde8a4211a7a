"""The program run with the dbx venv's python (``python -I dbx_reader.py DEPLOYMENT [PROJECT]``), never imported by
gda_clv's own environment: dbx 0.8.19 needs pydantic<2, so it lives in ``.venv-deploy``.

It reads DEPLOYMENT with dbx's ``ConfigReader`` (and PROJECT with its ``ProjectInfo``) and prints one JSON line:
``{"environments": {env: [workflow names]}}`` (exit 0), or the rejecting environment, project file or error and its
workflow names (exit 1). It imports only the standard library, PyYAML and dbx.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any


def read(deployment: Path, project: Path | None = None) -> tuple[int, dict[str, Any]]:
    """(exit code, JSON-able result) of dbx's readers on ``deployment`` and ``project``."""
    warnings.filterwarnings("ignore")
    import yaml
    from dbx.api.config_reader import ConfigReader
    from dbx.models.deployment import EnvironmentDeploymentInfo

    if project is not None:
        from dbx.models.files.project import ProjectInfo
        try:
            ProjectInfo(**json.loads(project.read_text()))
        except Exception as exc:
            return 1, {"project": str(project), "error": " | ".join(str(exc).splitlines()[1:]) or str(exc)}
    try:
        reader = ConfigReader(deployment)
        found = {env: reader.get_environment(env).payload.workflow_names for env in reader.get_all_environment_names()}
        return 0, {"environments": found}
    except Exception as exc:
        raw = yaml.safe_load(deployment.read_text())
        for env, spec in (raw.get("environments") or {}).items():
            try:
                EnvironmentDeploymentInfo.from_spec(env, spec)
            except Exception as env_exc:
                return 1, {"environment": env, "error": str(env_exc),
                           "workflows": [w.get("name") for w in (spec or {}).get("workflows", [])]}
        return 1, {"environment": None, "error": str(exc), "workflows": []}


def main(argv: list[str]) -> int:
    """Print the result of :func:`read` on ``argv`` (DEPLOYMENT [PROJECT]) as one JSON line; return its exit code."""
    code, result = read(Path(argv[0]), Path(argv[1]) if len(argv) > 1 else None)
    print(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
