"""`gda-clv workspace-setup --env ENV`: what `make deploy` applies to a workspace before deploying the jobs.

Creates the folder layout (``make_ws_dir``: the experiment's parent, never the experiment path itself), the jobs'
MLflow experiment of every region, its access list and the UC model grants of ``deployment.permissions``
(``permissions``). Credentials come from DATABRICKS_HOST/DATABRICKS_TOKEN or a config profile only.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gda_clv.utils.api.client import workspace_client
from gda_clv.utils.api.make_ws_dir import make_env_dirs
from gda_clv.utils.api.permissions import apply_env_permissions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `gda-clv workspace-setup` (``--env`` is the environment to set up)."""
    parser.add_argument("--environments-dir", type=Path, default=Path("conf/environments"),
                        help="folder of the environment files; its parent holds base.yml and models/ "
                             "(default: conf/environments)")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Folders, experiments and permissions of ``args.env``; every failure is a ConfigError naming the right."""
    from gda_clv.utils.job_gen import load_settings

    settings = load_settings(args.environments_dir, args.env)
    client = workspace_client()
    folders = make_env_dirs(args.env, settings, client)
    permissions = apply_env_permissions(args.env, settings, (), client)  # jobs get theirs from the deploy itself
    return {"environment": args.env, "folders": folders, "permissions": permissions}
