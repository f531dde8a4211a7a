"""The dates a feature set describes: calibration end, observation end (= ``as_of``) and the holdout between them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from gda_clv.errors import DataError


@dataclass(frozen=True)
class Timeline:
    """Calibration end, observation end (= ``as_of``) and the holdout between them."""

    calibration_end: dt.date
    observation_end: dt.date

    def __post_init__(self) -> None:
        if self.calibration_end >= self.observation_end:
            raise DataError(
                f"calibration end {self.calibration_end} is not before observation end {self.observation_end}; "
                "set data.calibration_end earlier or data.holdout_days larger than 0."
            )

    @property
    def as_of(self) -> dt.date:
        """The date the features describe, which is the observation end."""
        return self.observation_end

    @property
    def holdout_days(self) -> int:
        """Days from calibration end to observation end."""
        return (self.observation_end - self.calibration_end).days

    @classmethod
    def resolve(
        cls,
        calibration_end: dt.date | None,
        observation_end: dt.date | None,
        holdout_days: int,
        last_transaction: dt.date | None,
    ) -> Timeline:
        """From config dates where given, else the last clean transaction date and ``holdout_days`` before it.

        Raises ``DataError`` when ``observation_end`` is not given and there is no clean transaction to take it
        from, or (through the constructor) when calibration end is not before observation end.
        """
        if observation_end is None:
            if last_transaction is None:
                raise DataError("no clean transactions to derive data.observation_end from; set it in the config.")
            observation_end = last_transaction
        if calibration_end is None:
            calibration_end = observation_end - dt.timedelta(days=holdout_days)
        return cls(calibration_end=calibration_end, observation_end=observation_end)

    def as_dict(self) -> dict[str, Any]:
        """The dates as ISO text and ``holdout_days``, for summaries and MLflow params."""
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "observation_end": self.observation_end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "holdout_days": self.holdout_days,
        }
