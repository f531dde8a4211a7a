"""The ``lineage.json`` of a projection run: what produced its predictions, as a typed record.

:func:`build_lineage` is pure: project hands it what it read and computed; ``save_to_blob`` writes it.
"""
from __future__ import annotations

import datetime as dt
from typing import TypedDict

from gda_clv.data import scoring
from gda_clv.data.scoring import ScoringSpec
from gda_clv.pipelines.summaries import ModelsUsed

STEP = "project"
# On every targets row: the run folder (``date/HHMMSSZ_<run_id>`` under output.path) with its files and lineage.json
PREDICTION_RUN = "prediction_run"


class RunIdentity(TypedDict):
    """Which run, code and configuration produced the predictions."""

    env: str
    run_id: str
    job_run_id: str
    package_version: str
    commit_id: str
    config_hash: str


class RowCounts(TypedDict):
    """Customers scored and the distinct model inputs they share."""

    customers_scored: int
    distinct_input_tuples: int


class SourceTable(TypedDict):
    """The feature table read and its Delta version (None for Parquet)."""

    name: str
    version: int | None


class Projection(TypedDict):
    """The scoring settings, the units of the outputs and the value tiers."""

    spec: dict[str, object]
    units: dict[str, str]
    tier_quantiles: list[float]
    tier_labels: list[str]
    tier_thresholds: list[float]


class Lineage(RunIdentity):
    """The content of ``lineage.json`` (``save_to_blob`` adds ``written_at``)."""

    step: str
    models: ModelsUsed
    as_of: dt.date
    row_counts: RowCounts
    source_table: SourceTable
    targets_table: dict[str, str]
    projection: Projection
    timestamps: dict[str, str]


def projection_record(spec: ScoringSpec, quantiles: list[float], labels: list[str],
                      thresholds: list[float]) -> Projection:
    """The projection part of the lineage: ``spec`` as plain values, units, tier quantiles, labels, thresholds."""
    return {"spec": spec.__dict__ | {"horizons_days": list(spec.horizons_days)}, "units": scoring.horizon_units(spec),
            "tier_quantiles": quantiles, "tier_labels": labels, "tier_thresholds": thresholds}


def build_lineage(
    identity: RunIdentity, models: ModelsUsed, as_of: dt.date, row_counts: RowCounts, source_table: SourceTable,
    targets: str, run_folder: str, projection: Projection, started: dt.datetime,
) -> Lineage:
    """The lineage of a projection that started at ``started`` and scored now (``scored_at``)."""
    return {
        "step": STEP,
        **identity,
        "models": models,
        "as_of": as_of,
        "row_counts": row_counts,
        "source_table": source_table,
        "targets_table": {"name": targets, PREDICTION_RUN: run_folder},
        "projection": projection,
        "timestamps": {"started_at": started.isoformat(), "scored_at": dt.datetime.now(dt.timezone.utc).isoformat()},
    }
