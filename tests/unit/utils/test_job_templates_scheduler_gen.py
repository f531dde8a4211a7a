"""Schedules: specs -> Quartz cron, written back into templates.yml keeping comments and order."""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from gda_clv.errors import ConfigError
from gda_clv.utils import job_templates_scheduler_gen as sched

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    path = tmp_path / "templates.yml"
    shutil.copy(REPO / "conf" / "templates.yml", path)
    return path


def test_repo_templates_are_up_to_date(templates: Path) -> None:
    before = templates.read_bytes()
    summary = sched.write_schedules(templates)
    assert summary == {"clv-training": {"all": "0 0 2 ? * SUN"}, "clv-scoring": {"all": "0 0 6 * * ?"}}
    assert templates.read_bytes() == before


def test_rewrite_changes_only_the_cron_values(templates: Path) -> None:
    original = templates.read_text()
    templates.write_text(original.replace('at: "02:00"', 'at: "22:30"').replace("offset: 4h", "offset: 2h"))
    sched.write_schedules(templates)
    text = templates.read_text()
    # weekly SUN 22:30 + 2h crosses midnight: scoring is daily, so it runs at 00:30 every day
    assert text == original.replace('at: "02:00"', 'at: "22:30"').replace("offset: 4h", "offset: 2h") \
        .replace('"0 0 2 ? * SUN"', '"0 30 22 ? * SUN"').replace('"0 0 6 * * ?"', '"0 30 0 * * ?"')


def test_missing_cron_is_inserted_and_start_in_writes_dev_overrides(templates: Path) -> None:
    templates.write_text(templates.read_text().replace('      quartz_cron_expression: "0 0 6 * * ?"\n', ""))
    now = dt.datetime(2024, 5, 6, 13, 50, tzinfo=dt.timezone.utc)
    summary = sched.write_schedules(templates, start_in="15m", now=now)
    assert summary["clv-training"] == {"all": "0 0 2 ? * SUN", "dev": "0 5 14 * * ?"}
    assert summary["clv-scoring"] == {"all": "0 0 6 * * ?", "dev": "0 5 18 * * ?"}
    parsed = yaml.safe_load(templates.read_text())
    assert parsed["workflows"]["clv-scoring"]["schedule"]["overrides"] == {
        "dev": {"quartz_cron_expression": "0 5 18 * * ?", "pause_status": "UNPAUSED"}}
    assert templates.read_text().startswith("# Job templates: the workflows are described once here")
    sched.write_schedules(templates, clear_overrides=True)
    assert "overrides" not in templates.read_text()
    assert templates.read_text() == (REPO / "conf" / "templates.yml").read_text()


def test_hourly_and_weekly_after_crossing_midnight() -> None:
    specs = {"workflows": {
        "a": {"schedule": {"every": "weekly", "day": "SAT", "at": "23:00"}},
        "b": {"schedule": {"every": "weekly", "after": "a", "offset": "1h30m"}},
        "c": {"schedule": {"every": "hourly", "at": ":15"}},
    }}
    crons = {k[1]: v for k, v in sched.schedule_updates(specs).items()}
    assert crons == {"a": "0 0 23 ? * SAT", "b": "0 30 0 ? * SUN", "c": "0 15 * * * ?"}
    assert all(sched.quartz_error(c) is None for c in crons.values())


@pytest.mark.parametrize(("spec", "message"), [
    ({"every": "monthly"}, "workflow 'a', field schedule.every: 'monthly' is not one of daily, weekly, hourly"),
    ({"every": "daily", "at": "7pm"}, "workflow 'a', field schedule.at: '7pm' is not a time; use \"HH:MM\" "
                                      "(\":MM\" for hourly)"),
    ({"every": "weekly", "at": "01:00"}, "workflow 'a', field schedule.day: a weekly schedule needs a day "
                                         "(one of SUN, MON, TUE, WED, THU, FRI, SAT)"),
    ({"every": "daily", "after": "a", "offset": "1h"}, "workflow 'a', field schedule.after: schedules form a "
                                                       "cycle: a -> a"),
    ({"every": "daily", "after": "z"}, "workflow 'a', field schedule.after: 'z' is not a scheduled workflow; "
                                       "scheduled: ['a']"),
])
def test_spec_errors(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        sched.schedule_updates({"workflows": {"a": {"schedule": spec}}})
    assert str(info.value) == message


def test_bad_offset_and_start_in() -> None:
    specs = {"workflows": {"a": {"schedule": {"every": "daily", "at": "01:00"}},
                           "b": {"schedule": {"every": "daily", "after": "a", "offset": "soon"}}}}
    with pytest.raises(ConfigError) as info:
        sched.schedule_updates(specs)
    assert str(info.value) == "workflow 'b', field schedule.offset: 'soon' is not a duration; use e.g. 15m, 2h or 1h30m"
    with pytest.raises(ConfigError) as info:
        sched.schedule_updates({"workflows": {"a": specs["workflows"]["a"]}}, start_in="15 minutes")
    assert str(info.value) == "--start-in: '15 minutes' is not a duration; use e.g. 15m, 2h or 1h30m"


@pytest.mark.parametrize(("expression", "reason"), [
    ("0 0 2 ? * SUN", None), ("0 */15 8-18 ? * MON-FRI", None), ("0 0 12 L * ?", None), ("0 0 1 ? * 6#3", None),
    ("0 0 2 * *", "it has 5 fields; Quartz needs 6 or 7 (sec min hour day-of-month month day-of-week [year])"),
    ("0 60 2 * * ?", "minutes value 60 is out of range 0-59"),
    ("0 0 2 * * *", "exactly one of day-of-month and day-of-week must be '?'"),
    ("0 0 2 ? * FUN", "day-of-week value 'FUN' is not a number or one of SUN,MON,TUE,WED,THU,FRI,SAT"),
    ("0 0 2 ? 13 MON", "month value 13 is out of range 1-12"),
    ("0 0/0 2 * * ?", "minutes step '0' is not a positive number"),
])
def test_quartz_validation(expression: str, reason: str | None) -> None:
    assert sched.quartz_error(expression) == reason


def test_cli_summary(templates: Path) -> None:
    parser = argparse.ArgumentParser()
    sched.add_arguments(parser)
    summary = sched.run_from_args(parser.parse_args(["--templates", str(templates)]))
    assert summary == {"templates": str(templates),
                       "schedules": {"clv-training": {"all": "0 0 2 ? * SUN"}, "clv-scoring": {"all": "0 0 6 * * ?"}}}
    with pytest.raises(ConfigError) as info:
        sched.run_from_args(parser.parse_args(["--templates", str(templates.parent / "nope.yml")]))
    assert str(info.value) == f"--templates: {templates.parent / 'nope.yml'} does not exist"
