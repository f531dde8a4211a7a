"""Diagnostic plots CLV practitioners look at, on plain arrays and a fitted frequency model.

Each ``plot_*`` takes ``ax=None`` and returns the Axes. Without an ``ax`` a new ``matplotlib.figure.Figure`` is
made directly (no pyplot, no global backend change, nothing shown): log it with ``mlflow.log_figure(ax.figure, ...)``
or ``ax.figure.savefig(...)``. The ``*_table`` / ``*_matrix`` functions return the numbers behind each plot.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from gda_clv.errors import DataError
from gda_clv.models._types import FloatArray

DEFAULT_BUCKET_EDGES: tuple[int, ...] = (0, 1, 2, 4, 8, 16)


class PurchaseModel(Protocol):
    """What the matrix plots need from a fitted frequency model."""

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Expected purchases in the next ``t`` periods of customers with these statistics."""

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Probability that customers with these statistics are still alive at ``T``."""


def _new_axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=size, layout="constrained").add_subplot()


def _holdout_frame(
    frequency_cal: ArrayLike, actual_holdout: ArrayLike, predicted_holdout: ArrayLike, weights: ArrayLike | None
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "frequency_cal": np.asarray(frequency_cal, dtype=float).reshape(-1),
            "actual": np.asarray(actual_holdout, dtype=float).reshape(-1),
            "predicted": np.asarray(predicted_holdout, dtype=float).reshape(-1),
        }
    )
    frame["weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float).reshape(-1)
    if frame.empty:
        raise DataError("No customers to plot: frequency_cal is empty.")
    return frame


def _weighted_groups(frame: pd.DataFrame, key: pd.Series[int]) -> pd.DataFrame:
    work = frame.assign(
        key=key.to_numpy(),
        actual_total=frame["actual"] * frame["weight"],
        predicted_total=frame["predicted"] * frame["weight"],
    )
    grouped = work.groupby("key", sort=True)[["weight", "actual_total", "predicted_total"]].sum()
    return grouped.rename(columns={"weight": "customers"})


def calibration_holdout_table(
    frequency_cal: ArrayLike,
    actual_holdout: ArrayLike,
    predicted_holdout: ArrayLike,
    weights: ArrayLike | None = None,
    max_frequency: int = 7,
) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration frequency 0..max_frequency (last one is ``+``).

    Rows may be customers (weights None) or compressed groups with their customer counts as ``weights``.
    """
    frame = _holdout_frame(frequency_cal, actual_holdout, predicted_holdout, weights)
    key = frame["frequency_cal"].clip(upper=max_frequency).astype(int)
    grouped = _weighted_groups(frame, key)
    table = pd.DataFrame(
        {
            "frequency_cal": grouped.index.astype(int),
            "customers": grouped["customers"].to_numpy(),
            "actual_mean": (grouped["actual_total"] / grouped["customers"]).to_numpy(),
            "predicted_mean": (grouped["predicted_total"] / grouped["customers"]).to_numpy(),
        }
    )
    return table.reset_index(drop=True)


def plot_calibration_vs_holdout(
    frequency_cal: ArrayLike,
    actual_holdout: ArrayLike,
    predicted_holdout: ArrayLike,
    weights: ArrayLike | None = None,
    max_frequency: int = 7,
    ax: Axes | None = None,
) -> Axes:
    """Average actual vs model-predicted holdout purchases by calibration-period frequency (lifetimes' classic)."""
    table = calibration_holdout_table(frequency_cal, actual_holdout, predicted_holdout, weights, max_frequency)
    ax = _new_axes(ax)
    labels = [str(f) if f < max_frequency else f"{f}+" for f in table["frequency_cal"]]
    ax.plot(labels, table["actual_mean"], marker="o", label="actual (holdout)")
    ax.plot(labels, table["predicted_mean"], marker="s", linestyle="--", label="model prediction")
    ax.set_xlabel("purchases in calibration period")
    ax.set_ylabel("average purchases in holdout period")
    ax.set_title("Calibration vs holdout purchases")
    ax.legend()
    return ax


def frequency_bucket_table(
    frequency_cal: ArrayLike,
    actual_holdout: ArrayLike,
    predicted_holdout: ArrayLike,
    weights: ArrayLike | None = None,
    edges: Sequence[int] = DEFAULT_BUCKET_EDGES,
) -> pd.DataFrame:
    """Total actual and predicted holdout purchases per calibration-frequency bucket ``[edge_i, edge_i+1)``.

    The last bucket is open (``16+`` by default); empty buckets are kept with zeros. Raises ``DataError`` when
    ``edges`` are not increasing from 0.
    """
    if list(edges) != sorted(set(edges)) or edges[0] != 0:
        raise DataError(f"Frequency bucket edges must be increasing and start at 0, got {list(edges)}.")
    frame = _holdout_frame(frequency_cal, actual_holdout, predicted_holdout, weights)
    index = np.searchsorted(np.asarray(edges, dtype=float), frame["frequency_cal"].to_numpy(), side="right") - 1
    grouped = _weighted_groups(frame, pd.Series(index)).reindex(range(len(edges)), fill_value=0.0)
    closed = [f"{lo}" if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels = [*closed, f"{edges[-1]}+"]
    return pd.DataFrame(
        {
            "bucket": labels,
            "customers": grouped["customers"].to_numpy(),
            "actual_total": grouped["actual_total"].to_numpy(),
            "predicted_total": grouped["predicted_total"].to_numpy(),
        }
    )


def plot_holdout_by_frequency_bucket(
    frequency_cal: ArrayLike,
    actual_holdout: ArrayLike,
    predicted_holdout: ArrayLike,
    weights: ArrayLike | None = None,
    edges: Sequence[int] = DEFAULT_BUCKET_EDGES,
    ax: Axes | None = None,
) -> Axes:
    """Bars of total predicted vs actual holdout purchases per calibration-frequency bucket."""
    table = frequency_bucket_table(frequency_cal, actual_holdout, predicted_holdout, weights, edges)
    ax = _new_axes(ax)
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["actual_total"], width=0.4, label="actual")
    ax.bar(x + 0.2, table["predicted_total"], width=0.4, label="predicted")
    ax.set_xticks(x)
    ax.set_xticklabels(table["bucket"])
    ax.set_xlabel("purchases in calibration period")
    ax.set_ylabel("total purchases in holdout period")
    ax.set_title("Predicted vs actual holdout purchases by frequency bucket")
    ax.legend()
    return ax


def _grid(max_frequency: int, max_recency: int) -> tuple[FloatArray, FloatArray]:
    if max_frequency < 0 or max_recency < 0:
        raise DataError(f"max_frequency and max_recency must be >= 0, got {max_frequency} and {max_recency}.")
    frequencies = np.arange(max_frequency + 1, dtype=float)
    grid_frequency, grid_recency = np.meshgrid(frequencies, np.arange(max_recency + 1, dtype=float), indexing="ij")
    return grid_frequency, grid_recency


def expected_purchases_matrix(
    model: PurchaseModel, T: float, t: float, max_frequency: int, max_recency: int
) -> FloatArray:
    """Expected purchases in the next ``t`` periods for a customer of age ``T``: rows frequency, columns recency."""
    f, r = _grid(max_frequency, max_recency)
    values = model.expected_purchases(np.full(f.size, t), f.ravel(), r.ravel(), np.full(f.size, T))
    return np.asarray(values, dtype=float).reshape(f.shape)


def probability_alive_matrix(model: PurchaseModel, T: float, max_frequency: int, max_recency: int) -> FloatArray:
    """P(alive) of a customer of age ``T``: rows frequency, columns recency."""
    f, r = _grid(max_frequency, max_recency)
    values = model.probability_alive(f.ravel(), r.ravel(), np.full(f.size, T))
    return np.asarray(values, dtype=float).reshape(f.shape)


def _plot_matrix(matrix: FloatArray, title: str, label: str, ax: Axes | None) -> Axes:
    ax = _new_axes(ax, (6.0, 5.0))
    image = ax.imshow(matrix, origin="lower", aspect="auto", interpolation="nearest", cmap="viridis")
    figure = ax.figure
    assert figure is not None, "an Axes made by _new_axes or passed in belongs to a figure"  # Optional in mpl 3.8
    figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("customer's recency (age at last purchase)")
    ax.set_ylabel("customer's historical frequency")
    ax.set_title(title)
    return ax


def plot_frequency_recency_matrix(
    model: PurchaseModel, T: float, max_frequency: int, max_recency: int, t: float = 1.0, ax: Axes | None = None
) -> Axes:
    """Heat map of expected purchases in the next ``t`` periods by frequency and recency."""
    matrix = expected_purchases_matrix(model, T, t, max_frequency, max_recency)
    return _plot_matrix(matrix, f"Expected purchases in the next {t:g} periods (T={T:g})", "expected purchases", ax)


def plot_probability_alive_matrix(
    model: PurchaseModel, T: float, max_frequency: int, max_recency: int, ax: Axes | None = None
) -> Axes:
    """Heat map of the probability a customer is still alive by frequency and recency."""
    matrix = probability_alive_matrix(model, T, max_frequency, max_recency)
    return _plot_matrix(matrix, f"Probability customer is alive (T={T:g})", "P(alive)", ax)
