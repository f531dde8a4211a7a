"""Diagnostic plots: the numbers behind each plot, and that each plot draws on the Axes it is given."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gda_clv.errors import DataError
from gda_clv.models import plots

# Three compressed groups with calibration frequency 0, 1 and 9 (the last one lands in the open "7+" bucket).
FREQ = np.array([0, 0, 1, 9])
ACTUAL = np.array([0, 1, 2, 6])
PRED = np.array([0.5, 0.5, 1.0, 5.0])
WEIGHT = np.array([3, 1, 2, 1])


def test_calibration_holdout_table_weighted_means() -> None:
    table = plots.calibration_holdout_table(FREQ, ACTUAL, PRED, WEIGHT, max_frequency=7)
    assert table["frequency_cal"].tolist() == [0, 1, 7]
    assert table["customers"].tolist() == [4, 2, 1]
    assert table["actual_mean"].tolist() == [0.25, 2.0, 6.0]
    assert table["predicted_mean"].tolist() == [0.5, 1.0, 5.0]


def test_frequency_bucket_table_totals_and_empty_buckets() -> None:
    table = plots.frequency_bucket_table(FREQ, ACTUAL, PRED, WEIGHT, edges=(0, 1, 2, 4, 8))
    assert table["bucket"].tolist() == ["0", "1", "2-3", "4-7", "8+"]
    assert table["customers"].tolist() == [4, 2, 0, 0, 1]
    assert table["actual_total"].tolist() == [1, 4, 0, 0, 6]
    assert table["predicted_total"].tolist() == [2, 2, 0, 0, 5]
    # Totals are preserved: the buckets partition all customers.
    assert table["actual_total"].sum() == float((ACTUAL * WEIGHT).sum())


def test_frequency_bucket_table_rejects_bad_edges() -> None:
    with pytest.raises(DataError) as err:
        plots.frequency_bucket_table(FREQ, ACTUAL, PRED, edges=(1, 3))
    assert str(err.value) == "Frequency bucket edges must be increasing and start at 0, got [1, 3]."


def test_holdout_plots_draw_on_given_axes_or_a_new_figure() -> None:
    ax = Figure().subplots()
    returned = plots.plot_calibration_vs_holdout(FREQ, ACTUAL, PRED, WEIGHT, ax=ax)
    assert returned is ax
    actual_line, predicted_line = ax.get_lines()
    assert list(actual_line.get_ydata()) == [0.25, 2.0, 6.0]
    assert list(predicted_line.get_ydata()) == [0.5, 1.0, 5.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["actual (holdout)", "model prediction"]

    bars = plots.plot_holdout_by_frequency_bucket(FREQ, ACTUAL, PRED, WEIGHT, edges=(0, 1, 2))
    assert isinstance(bars, Axes) and isinstance(bars.figure, Figure)
    heights = [patch.get_height() for patch in bars.patches]
    assert heights == [1, 4, 6, 2, 2, 5]  # actual bars, then predicted bars
    assert [t.get_text() for t in bars.get_xticklabels()] == ["0", "1", "2+"]


def test_empty_input_raises_data_error() -> None:
    with pytest.raises(DataError) as err:
        plots.calibration_holdout_table([], [], [])
    assert str(err.value) == "No customers to plot: frequency_cal is empty."


CDNOW_BGNBD = {"type": "bgnbd", "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}}


def test_matrices_are_the_models_predictions_on_the_grid() -> None:
    from gda_clv.models._lifetimes import lifetimes, quiet
    from gda_clv.models.frequency import FrequencyModel

    model = FrequencyModel.from_dict(CDNOW_BGNBD)
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(CDNOW_BGNBD["params"])
    expected = plots.expected_purchases_matrix(model, T=39.0, t=2.0, max_frequency=3, max_recency=39)
    alive = plots.probability_alive_matrix(model, T=39.0, max_frequency=3, max_recency=39)
    assert expected.shape == alive.shape == (4, 40)
    with quiet():
        for f, r in [(0, 0), (2, 10), (3, 39)]:
            predicted = bgf.conditional_expected_number_of_purchases_up_to_time(2.0, f, r, 39.0)
            assert expected[f, r] == pytest.approx(predicted)
            assert alive[f, r] == pytest.approx(bgf.conditional_probability_alive(f, r, 39.0))
    # More recent buyers (larger recency) of the same frequency are more likely alive.
    assert np.all(np.diff(alive[3]) >= 0)


def test_matrix_plots_draw_an_image_with_a_colorbar() -> None:
    from gda_clv.models.frequency import FrequencyModel

    model = FrequencyModel.from_dict(CDNOW_BGNBD)
    ax = plots.plot_probability_alive_matrix(model, T=39.0, max_frequency=5, max_recency=39)
    assert ax.get_images()[0].get_array().shape == (6, 40)
    assert len(ax.figure.axes) == 2  # the heat map and its colorbar
    given = Figure().subplots()
    fr = plots.plot_frequency_recency_matrix(model, T=39.0, max_frequency=5, max_recency=39, t=4, ax=given)
    assert fr is given
    assert fr.get_title() == "Expected purchases in the next 4 periods (T=39)"
