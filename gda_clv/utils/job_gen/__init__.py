"""``gda-clv job-gen``: conf/templates.yml + conf/environments/<env>.yml -> conf/deployment.yml and
.dbx/project.json (dbx 0.8) and conf/bundle/ (Asset Bundle).

Both outputs are written from the same workflow dicts (``JobFactory``) and checked three ways: our structural
checks (``structure_errors``), the whole bundle against the CLI's bundle schema and the ``databricks-bundles``
models (``bundle_check.check_bundle``) and dbx 0.8.19's own reader, run in the separate ``.venv-deploy``
environment (``check_with_dbx``). Artifacts go to each environment's Unity Catalog volume, never DBFS root.

This module holds the pipeline (:func:`generate`) and the command line; its parts, one responsibility each:
:mod:`~gda_clv.utils.job_gen.inputs` (templates, deployment settings, console scripts),
:mod:`~gda_clv.utils.job_gen.structure` (structural checks), :mod:`~gda_clv.utils.job_gen.dbx_files` and
:mod:`~gda_clv.utils.job_gen.bundle` (the generated files' text, YAML from :mod:`~gda_clv.utils.job_gen.yaml_text`),
:mod:`~gda_clv.utils.job_gen.dbx_check` (runs :mod:`~gda_clv.utils.job_gen.dbx_reader` in the dbx venv).
Their public names are importable from here, as before the split.
"""
from __future__ import annotations

import argparse
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.bundle_check import check_bundle
from gda_clv.utils.commit import require_git_head
from gda_clv.utils.config_schema import UUID, DeployableConfig
from gda_clv.utils.dashboard import bundle_dashboards
from gda_clv.utils.dbx_utils import JobFactory, reorder_dict, task_keys
from gda_clv.utils.job_gen.bundle import BUNDLE_ROOT_FROM_RESOURCES, CORE_WHEEL, bundle_files
from gda_clv.utils.job_gen.dbx_check import check_with_dbx
from gda_clv.utils.job_gen.dbx_files import dbx_project_text, deployment_text
from gda_clv.utils.job_gen.inputs import load_settings, load_templates, setup_entry_points
from gda_clv.utils.job_gen.structure import PAUSE_STATUSES, structure_errors
from gda_clv.utils.job_gen.yaml_text import HEADER, dump_yaml


def render(templates: Mapping[str, Any], settings: Mapping[str, DeployableConfig],
           commit: str) -> dict[str, list[dict[str, Any]]]:
    """{env: workflow dicts} for every environment named in the templates; ``settings``: {env: load_settings}."""
    return {env: JobFactory(templates, env, settings[env], commit).build_all() for env in templates["environments"]}


def generate(root: Path, templates_path: Path, conf_dir: Path, out: Path, bundle_dir: Path | None,
             commit: str, dbx_python: Path | None, require_dbx: bool = False,
             project_file: Path | None = None) -> dict[str, Any]:
    """Render, validate and write; returns the job-gen summary. ``project_file``: dbx's project file, default
    ROOT/.dbx/project.json (where `dbx deploy` reads it).

    Raises ``ConfigError`` when a template or environment fails a check, or the dbx venv is missing.
    """
    templates = load_templates(templates_path)
    settings = {env: load_settings(conf_dir, env) for env in templates["environments"]}
    workflows = render(templates, settings, commit)
    entry_points = setup_entry_points(root / "setup.py")
    for env, wfs in workflows.items():
        errors = [e for wf in wfs for e in structure_errors(wf, root, entry_points)]
        if errors:
            raise ConfigError("\n".join(f"environment '{env}', {error}" for error in errors))
    bundle = bundle_files(templates, workflows, settings)
    dashboards, targets = bundle_dashboards(root, settings)
    if targets:
        bundle.update({**dashboards, "resources/dashboards.yml": HEADER + dump_yaml({"targets": targets})})
    check_bundle(bundle)
    text = deployment_text(workflows)
    project_file = project_file or root / ".dbx" / "project.json"
    outputs = {out: text, project_file: dbx_project_text(settings)}
    if bundle_dir is not None:
        outputs.update({bundle_dir / rel: content for rel, content in bundle.items()})
    for path, content in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    written = [str(path) for path in outputs]
    validations = {"structure": "passed", "databricks_bundles": "passed"}
    if dbx_python is not None and dbx_python.exists():
        check_with_dbx(out, dbx_python, project_file)
        validations["dbx"] = "passed"
    elif require_dbx:
        raise ConfigError(f"dbx validation needs {dbx_python}; create it with `make .venv-deploy`")
    else:
        validations["dbx"] = f"skipped: {dbx_python} not found (make .venv-deploy)"
    return {
        "commit": commit, "files": written, "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "environments": {env: {wf["name"]: task_keys(wf) for wf in wfs} for env, wfs in workflows.items()},
        "validations": validations,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `gda-clv job-gen`."""
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (setup.py, job files)")
    parser.add_argument("--templates", type=Path, help="default: ROOT/conf/templates.yml")
    parser.add_argument("--environments-dir", type=Path,
                        help="default: ROOT/conf/environments (its parent holds base.yml and models/)")
    parser.add_argument("--out", type=Path, help="default: ROOT/conf/deployment.yml")
    parser.add_argument("--bundle-dir", type=Path, help="default: ROOT/conf/bundle")
    parser.add_argument("--no-bundle", action="store_true", help="do not write the Asset Bundle")
    parser.add_argument("--commit", help="commit id to stamp (default: git rev-parse HEAD in ROOT)")
    parser.add_argument(
        "--dbx-python", type=Path, help="python of the dbx venv (default: ROOT/.venv-deploy/bin/python)",
    )
    parser.add_argument("--require-dbx", action="store_true", help="fail instead of skipping when dbx is missing")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """`gda-clv job-gen`: writes the files; every validation failure raises ConfigError (non-zero exit)."""
    root = args.root
    return generate(
        root=root,
        templates_path=args.templates or root / "conf" / "templates.yml",
        conf_dir=args.environments_dir or root / "conf" / "environments",
        out=args.out or root / "conf" / "deployment.yml",
        bundle_dir=None if args.no_bundle else (args.bundle_dir or root / "conf" / "bundle"),
        commit=args.commit or require_git_head(root),
        dbx_python=args.dbx_python or root / ".venv-deploy" / "bin" / "python",
        require_dbx=args.require_dbx,
    )


__all__ = ["JobFactory", "reorder_dict", "generate", "render", "structure_errors", "check_bundle",
           "check_with_dbx", "add_arguments", "run_from_args",
           # moved to the submodules, importable here as before
           "BUNDLE_ROOT_FROM_RESOURCES", "CORE_WHEEL", "HEADER", "PAUSE_STATUSES", "UUID", "bundle_files",
           "dbx_project_text", "deployment_text", "dump_yaml",
           "load_settings", "load_templates", "setup_entry_points"]
