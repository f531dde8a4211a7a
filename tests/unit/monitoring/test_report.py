"""The HTML report renders in headless Chromium with every figure decoded, breaches first and highlighted."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from gda_clv.monitoring import report
from gda_clv.monitoring.alerts import evaluate
from gda_clv.monitoring.tracking import Tracking
from tests.chromium import decoded_image_widths


def _page() -> str:
    weeks = tuple(dt.date(2024, 1, 7) + dt.timedelta(days=7 * k) for k in range(10))
    track = Tracking(weeks, tuple(float(k * 3) for k in range(10)), tuple(float(k * 2.5) for k in range(10)))
    metrics = [
        evaluate("2024-03-10", "psi", "clv", 0.05, 0.2, "2024-02-10", "previous_as_of"),
        evaluate("2024-03-10", "transactions_per_day_change", "input", -0.7, 0.5, "2024-01-31", "champion_training"),
    ]
    return report.render(
        "2024-03-10", [("<10", 5), ("10-50", 8), (">50", 2)], {"low": 9, "top": 6},
        [{"customer_id": "c1", "clv": 120.5, "p_alive": 0.9, "frequency": 4.0, "value_tier": "top"}],
        metrics, {"frequency_model_name": "clv_frequency", "frequency_model_version": "3"},
        track, dt.date(2024, 2, 1), [(0, 0, 0.2), (3, 9, 0.95), (1, 5, 0.6)],
    )


def test_report_renders_with_its_figures(tmp_path: Path) -> None:
    page = _page()
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    widths = decoded_image_widths(path)
    assert len(widths) == 4 and all(w > 100 for w in widths)  # CLV, tiers, P(alive), tracking
    rows = re.findall(r"<tr( class=breach)?><td>2024-03-10</td><td>([a-z_]+)</td>", page)
    assert rows == [(" class=breach", "transactions_per_day_change"), ("", "psi")]  # breaches first
    assert "champion_training" in page and "clv_frequency" in page and "http" not in page  # self-contained


def test_a_broken_figure_is_caught(tmp_path: Path) -> None:
    page = _page()
    broken = page.replace("data:image/png;base64,iVBOR", "data:image/png;base64,XXXXX", 1)
    path = tmp_path / "broken.html"
    path.write_text(broken, encoding="utf-8")
    assert sorted(decoded_image_widths(path))[0] == 0
