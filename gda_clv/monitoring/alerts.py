"""Metric rows (as_of, metric, column, value, threshold, breached) and alert evaluation."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class MetricRow:
    """One row of the monitoring table, keyed by (as_of, metric, column, reference).

    ``reference`` names what the value compares against (``previous_as_of``, ``champion_training``, the later
    as_of whose actuals a performance row uses, or the window a level describes) and ``reference_as_of`` its date.
    """

    as_of: str
    metric: str
    column: str
    value: float
    threshold: float | None
    breached: bool
    reference_as_of: str | None = None
    reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain dict (summary JSON, table rows)."""
        return asdict(self)


def evaluate(as_of: str, metric: str, column: str, value: float, threshold: float | None,
             reference_as_of: str | None = None, reference: str | None = None) -> MetricRow:
    """A metric row, breached when ``abs(value)`` exceeds ``threshold`` (never without a threshold)."""
    breached = threshold is not None and abs(value) > threshold
    return MetricRow(as_of, metric, column, float(value), threshold, breached, reference_as_of, reference)


def alerts(rows: list[MetricRow]) -> list[str]:
    """Human messages for the breached rows."""
    return [
        f"{r.metric}({r.column}) = {r.value:.4f} > {r.threshold} at as_of {r.as_of}"
        + (f" vs {r.reference or 'as_of'} {r.reference_as_of}" if r.reference_as_of else "")
        for r in rows if r.breached
    ]
