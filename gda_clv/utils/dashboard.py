"""The AI/BI (Lakeview) dashboard of the bundle: conf/dashboards/clv.lvdash.json rendered per environment.

The template names its tables by placeholder; job-gen writes one ``dashboards/clv.<env>.lvdash.json`` per
environment with ``deployment.dashboard`` (its SQL warehouse), with the environment's predictions and monitoring
tables, and a ``resources/dashboards.yml`` deploying it with the jobs. ``dashboard_errors`` checks the structure.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gda_clv.errors import ConfigError
from gda_clv.utils.config_schema import DeploymentConfig
from gda_clv.utils.workspace_paths import workspace_root

TEMPLATE = Path("conf") / "dashboards" / "clv.lvdash.json"
#: placeholder in the template -> ``tables.*`` key of the table it stands for
PLACEHOLDERS = {"__PREDICTIONS_TABLE__": "targets", "__MONITORING_TABLE__": "monitoring"}
_TABLE_REF = re.compile(r"\b(?:FROM|JOIN)\s+([`\w.]+)", re.IGNORECASE)


def table_names(env: str, conf_dir: Path) -> dict[str, str]:
    """{placeholder: full table name} from the validated config of ``env`` (``conf_dir`` holds base.yml)."""
    from gda_clv.utils.common import TargetsTableConfig
    from gda_clv.utils.config_utils import load_config

    tables = load_config(env, conf_dir).tables
    return {token: TargetsTableConfig(catalog=tables.catalog, schema=tables.schema_, table=getattr(tables, key)
                                      ).full_name for token, key in PLACEHOLDERS.items()}


def render(template: str, tables: Mapping[str, str]) -> dict[str, Any]:
    """The dashboard with every placeholder replaced by its table."""
    for token, name in tables.items():
        template = template.replace(token, name)
    dashboard: dict[str, Any] = json.loads(template)
    return dashboard


def query_text(dataset: Mapping[str, Any]) -> str:
    """A dataset's SQL (``queryLines`` joined, or ``query``)."""
    return "".join(dataset.get("queryLines") or []) or str(dataset.get("query", ""))


def dashboard_errors(dashboard: Mapping[str, Any], tables: Iterable[str]) -> list[str]:
    """Datasets must query only ``tables``; every widget must use an existing dataset and encode its own fields."""
    allowed = set(tables)
    datasets = {d.get("name"): d for d in dashboard.get("datasets", [])}
    errors = []
    for name, dataset in datasets.items():
        found = {ref.strip("`") for ref in _TABLE_REF.findall(query_text(dataset))}
        if not found or found - allowed:
            errors.append(f"dataset '{name}': queries {sorted(found) or 'no table'}; allowed: {sorted(allowed)}")
    for page in dashboard.get("pages", []):
        for item in page.get("layout", []):
            widget = item.get("widget", {})
            where = f"page '{page.get('name')}', widget '{widget.get('name')}'"
            fields: set[str] = set()
            for query in widget.get("queries", []):
                dataset = query.get("query", {}).get("datasetName")
                if dataset not in datasets:
                    errors.append(f"{where}: dataset '{dataset}' does not exist (datasets: {sorted(datasets)})")
                fields |= {f.get("name") for f in query.get("query", {}).get("fields", [])}
            for encoding in _encoded_fields(widget.get("spec", {}).get("encodings", {})):
                if encoding not in fields:
                    errors.append(f"{where}: encodes field '{encoding}' its query does not select")
    return errors


def _encoded_fields(encodings: Mapping[str, Any]) -> list[str]:
    names = []
    for value in encodings.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping) and "fieldName" in item:
                names.append(item["fieldName"])
    return names


def bundle_dashboards(root: Path, settings: Mapping[str, DeploymentConfig]) -> tuple[dict[str, str], dict[str, Any]]:
    """({path under the bundle folder: rendered dashboard}, the ``targets`` of resources/dashboards.yml) for the
    environments that set ``deployment.dashboard.warehouse_id`` (the template and the tables' names come from
    ROOT/conf).

    Raises ConfigError for a dashboard that fails ``dashboard_errors``.
    """
    template = (root / TEMPLATE).read_text(encoding="utf-8")
    files: dict[str, str] = {}
    targets: dict[str, Any] = {}
    for env, spec in settings.items():
        own = spec.dashboard
        if own.warehouse_id is None:
            continue
        tables = table_names(env, root / "conf")
        dashboard = render(template, tables)
        errors = dashboard_errors(dashboard, tables.values())
        if errors:
            raise ConfigError(f"{TEMPLATE} for environment '{env}': " + "; ".join(errors))
        path = f"dashboards/clv.{env}.lvdash.json"
        files[path] = json.dumps(dashboard, indent=2) + "\n"
        targets[env] = {"resources": {"dashboards": {"clv": {
            "display_name": f"{spec.job_name_prefix}CLV predictions and monitoring",
            "file_path": f"../{path}", "warehouse_id": own.warehouse_id,
            "parent_path": own.parent_path or workspace_root(env, spec),
            "embed_credentials": own.embed_credentials,
        }}}}
    return files, targets
