"""Timeline: config dates, or the data's last date and the holdout, and the errors naming the fix."""
from __future__ import annotations

import datetime as dt

import pytest

from gda_clv.data.timeline import Timeline
from gda_clv.errors import DataError

D = dt.date


def test_timeline_from_config_dates() -> None:
    timeline = Timeline.resolve(D(1997, 9, 30), D(1998, 6, 30), holdout_days=10, last_transaction=D(1999, 1, 1))
    assert timeline.as_dict() == {
        "calibration_end": "1997-09-30", "observation_end": "1998-06-30", "as_of": "1998-06-30", "holdout_days": 273,
    }


def test_timeline_from_the_data_and_holdout_days() -> None:
    timeline = Timeline.resolve(None, None, holdout_days=273, last_transaction=D(1998, 6, 30))
    assert (timeline.calibration_end, timeline.observation_end, timeline.as_of) == (
        D(1997, 9, 30), D(1998, 6, 30), D(1998, 6, 30),
    )
    assert Timeline.resolve(None, D(1998, 1, 31), 31, D(1999, 1, 1)).calibration_end == D(1997, 12, 31)


def test_timeline_errors() -> None:
    with pytest.raises(DataError) as err:
        Timeline.resolve(None, None, 10, None)
    assert str(err.value) == "no clean transactions to derive data.observation_end from; set it in the config."
    with pytest.raises(DataError) as err:
        Timeline.resolve(D(1998, 7, 1), None, 10, D(1998, 6, 30))
    assert str(err.value) == (
        "calibration end 1998-07-01 is not before observation end 1998-06-30; "
        "set data.calibration_end earlier or data.holdout_days larger than 0."
    )
