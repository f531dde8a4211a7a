"""The AI/BI dashboard's SQL on real tables: two scoring runs of a CDNOW subset (local Spark, sqlite MLflow) write
the predictions and monitoring tables; every dataset of conf/dashboards/clv.lvdash.json and every widget's fields
run on them with Spark SQL and return rows."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import mlflow
import pytest

from gda_clv.pipelines import monitor, prepare, project, train_frequency, train_monetary
from gda_clv.utils import dashboard
from gda_clv.utils.common import JobContext

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def widget_sql(widget: dict[str, Any], datasets: dict[str, str]) -> str:
    """A widget's query as Lakeview runs it: its fields over its dataset, grouped by the plain-column fields."""
    query = widget["queries"][0]["query"]
    fields = [f"{f['expression']} AS `{f['name']}`" for f in query["fields"]]
    keys = [f["expression"] for f in query["fields"] if "(" not in f["expression"]]
    group = "" if query.get("disaggregated") or not keys or len(keys) == len(fields) else f" GROUP BY {', '.join(keys)}"
    return f"SELECT {', '.join(fields)} FROM ({datasets[query['datasetName']]}){group}"


def test_every_dataset_and_widget_runs_on_the_pipelines_tables(spark, tmp_path: Path, cdnow_subset: Path) -> None:
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    schema = f"dash_{uuid.uuid4().hex[:8]}"
    try:
        for end in ("1998-05-31", "1998-06-30"):
            ctx = JobContext(env="local", spark=spark, overrides=(
                f"runtime.state_dir={tmp_path}", f"tables.schema={schema}", f"data.source.path={cdnow_subset}",
                "data.freq=W", "data.freq_multiplier=1", f"data.observation_end={end}",
                "model.frequency.tuning.max_evals=2", "model.monetary.tuning.max_evals=2"))
            ctx.setup_mlflow()  # as gda-clv does before a step
            steps = (prepare, train_frequency, train_monetary, project) if end == "1998-05-31" else (prepare, project)
            for step in (*steps, monitor):
                step.run(ctx)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    tables = {"__PREDICTIONS_TABLE__": ctx.targets_table.full_name, "__MONITORING_TABLE__": ctx.monitoring_table_name}
    rendered = dashboard.render((REPO / dashboard.TEMPLATE).read_text(), tables)
    assert dashboard.dashboard_errors(rendered, tables.values()) == []
    datasets = {d["name"]: dashboard.query_text(d) for d in rendered["datasets"]}
    for name, sql in datasets.items():
        assert spark.sql(sql).count() > 0, name
    widgets = [item["widget"] for page in rendered["pages"] for item in page["layout"]]
    for widget in widgets:
        rows = spark.sql(widget_sql(widget, datasets)).collect()
        assert rows, widget["name"]
        for field in rows[0].asDict():  # a field may be null on some rows (a level has no threshold), never on all
            assert any(row[field] is not None for row in rows), (widget["name"], field)
