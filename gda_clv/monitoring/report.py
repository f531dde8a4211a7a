"""A self-contained HTML report of one scoring run: figures as inline PNG (base64), no external resources."""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Sequence
from typing import Any

from gda_clv.monitoring.alerts import MetricRow
from gda_clv.monitoring.tracking import Tracking


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float = 6, height: float = 3) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _bar_figure(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str) -> str:
    fig, ax = _figure()
    ax.bar(list(labels), list(values), color="#3b75af")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=30)
    return _png(fig)


def _tracking_figure(track: Tracking, calibration_end: dt.date | None) -> str:
    """Cumulative repeat transactions by week, actual vs the model's expectation, the calibration end marked."""
    fig, ax = _figure(7, 3.5)
    ax.plot(track.weeks, track.actual, color="#222", label="actual")
    ax.plot(track.weeks, track.expected, color="#d9772b", linestyle="--", label="model")
    if calibration_end is not None:
        ax.axvline(calibration_end, color="#888", linestyle=":", label="end of training period")
    ax.set_title("Tracking: cumulative repeat transactions by week")
    ax.set_ylabel("repeat transactions")
    ax.legend()
    fig.autofmt_xdate()
    return _png(fig)


def _p_alive_figure(grid: Sequence[tuple[int, int, float]]) -> str:
    """Mean P(alive) by frequency (rows) and recency bin (columns): a lifetimes-style probability-alive matrix."""
    import numpy as np

    size = max(max(f, r) for f, r, _ in grid) + 1
    matrix = np.full((size, size), np.nan)
    for f, r, p in grid:
        matrix[f, r] = p
    fig, ax = _figure(5, 4)
    image = ax.imshow(matrix, origin="lower", cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    fig.colorbar(image, ax=ax, label="P(alive)")
    ax.set_title("P(alive) by frequency and recency")
    ax.set_xlabel("recency (bins, low = last purchase long ago)")
    ax.set_ylabel("frequency (repeat purchases, capped)")
    return _png(fig)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], highlight: Sequence[bool] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr{' class=breach' if highlight and highlight[i] else ''}>"
        + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


def render(as_of: str, clv_histogram: Sequence[tuple[str, int]], tier_counts: dict[str, int],
           top_customers: Sequence[dict[str, Any]], metrics: Sequence[MetricRow], lineage: dict[str, Any],
           track: Tracking | None = None, calibration_end: dt.date | None = None,
           p_alive_grid: Sequence[tuple[int, int, float]] = ()) -> str:
    """The report's HTML: CLV distribution, tier shares, P(alive), top customers, tracking plot, drift and
    performance (breaches first and highlighted), models and lineage."""
    breached = [m for m in metrics if m.breached]
    status = f"{len(breached)} alert(s)" if breached else "no alerts"
    figures = [
        _bar_figure([b for b, _ in clv_histogram], [n for _, n in clv_histogram], "Customers by predicted CLV",
                    "customers"),
        _bar_figure(list(tier_counts), list(tier_counts.values()), "Customers by value tier", "customers"),
        *([_p_alive_figure(p_alive_grid)] if p_alive_grid else []),
    ]
    tracking_html = (f'<img alt="tracking plot" src="{_tracking_figure(track, calibration_end)}">'
                     '<p>The dashed line is what the model expects; when the solid line leaves it after the end of '
                     'the training period, the model no longer describes how customers buy.</p>'
                     if track is not None else "<p>No tracking plot: the scoring model's training window is "
                     "unknown.</p>")
    ordered = sorted(metrics, key=lambda m: not m.breached)
    top_cols = ["customer_id", "clv", "p_alive", "frequency", "value_tier"]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CLV report {html.escape(as_of)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px}}tr.breach{{background:#fdd;font-weight:bold}}</style></head><body>
<h1>Customer lifetime value — scoring run as of {html.escape(as_of)}</h1>
<p>Monitoring: <b>{status}</b>. Rows in red crossed their alert threshold.</p>
<h2>Predicted value</h2>{''.join(f'<img alt="figure" src="{src}">' for src in figures)}
<h2>Top customers</h2>{_table(top_cols, [[c.get(k) for k in top_cols] for c in top_customers])}
<h2>Model tracking</h2>{tracking_html}
<h2>Input data, drift and model performance</h2>
{_table(["as_of", "metric", "column", "value", "threshold", "reference", "reference as_of"],
        [[m.as_of, m.metric, m.column, m.value, m.threshold, m.reference, m.reference_as_of] for m in ordered],
        [m.breached for m in ordered])}
<h2>Models and lineage</h2>{_table(["key", "value"], [[k, v] for k, v in lineage.items()])}
</body></html>"""
