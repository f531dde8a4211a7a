"""The lineage record of a projection, built from typed parts (no Spark, no MLflow)."""
from __future__ import annotations

import datetime as dt
import json

from gda_clv.data.scoring import ScoringSpec
from gda_clv.pipelines.lineage import PREDICTION_RUN, Lineage, build_lineage, projection_record


def test_lineage_holds_every_declared_part_and_is_json() -> None:
    spec = ScoringSpec(horizons_days=(30, 90), horizon_months=6, freq="W")
    identity = {"env": "local", "run_id": "r1", "job_run_id": "j1", "package_version": "1.0", "commit_id": "abc",
                "config_hash": "f" * 64}
    model = {"name": "clv_frequency", "version": "2", "run_id": None, "type": "bgnbd", "params": {"r": 0.2}}
    started = dt.datetime(2024, 5, 1, 10, 15, 30, tzinfo=dt.timezone.utc)
    lineage = build_lineage(
        identity, {"frequency": model, "monetary": {**model, "name": "clv_monetary", "type": "gamma_gamma"}},
        dt.date(2024, 4, 30), {"customers_scored": 10, "distinct_input_tuples": 4}, {"name": "s.f", "version": None},
        "s.targets", "2024-05-01/101530Z_r1", projection_record(spec, [0.5], ["low", "high"], [12.5]), started,
    )
    assert set(lineage) == Lineage.__required_keys__
    assert {k: lineage[k] for k in identity} == identity and lineage["step"] == "project"
    assert lineage["targets_table"] == {"name": "s.targets", PREDICTION_RUN: "2024-05-01/101530Z_r1"}
    assert lineage["projection"]["spec"]["horizons_days"] == [30, 90]
    assert lineage["projection"]["units"]["clv"].startswith("expected spend over the next 6 months")
    assert lineage["timestamps"]["started_at"] == "2024-05-01T10:15:30+00:00"
    assert dt.datetime.fromisoformat(lineage["timestamps"]["scored_at"]) > started
    assert json.loads(json.dumps(lineage, default=str))["as_of"] == "2024-04-30"
