"""The monitor step's pieces that need no pipeline run (local Spark)."""
from __future__ import annotations

from gda_clv.monitoring.alerts import evaluate
from gda_clv.pipelines.monitor import RUN_AS_OF, _metrics_frame


def test_metrics_frame_keeps_every_field(spark):
    rows = [evaluate("2024-03-10", "psi", "clv", 0.25, 0.2, "2024-02-10", "previous_as_of"),
            evaluate("2024-03-10", "transactions_per_day", "input", 12.5, None, "2024-03-10", "current"),
            evaluate("2024-02-10", "purchases_mae", "30d", 1e-300, None)]
    collected = [r.asDict() for r in _metrics_frame(spark, rows, "2024-03-10").collect()]
    assert collected == [{**r.as_dict(), RUN_AS_OF: "2024-03-10"} for r in rows]
    assert collected[0]["breached"] is True and collected[1]["threshold"] is None
