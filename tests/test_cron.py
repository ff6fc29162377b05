"""omgml.cron: the one schedule check every CronJob's schedule goes through, and the longest gap."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from omgml.cron import check_schedule, cron_problem, max_gap_seconds, parse_cron
from omgml.errors import SpecError
from omgml.spec import spec_from_dict

DAY = 86400


@pytest.mark.parametrize(("schedule", "gap"), [
    ("0 2 * * *", DAY),
    ("@hourly", 3600),
    ("*/15 * * * *", 900),
    ("0 2 * * 1-5", 3 * DAY),  # Friday 02:00 → Monday 02:00
    ("0 2 * * mon-FRI", 3 * DAY),  # names in any case, as the controller reads them
    ("0 0,12 * * *", 12 * 3600),
    ("0 0 1 * *", 31 * DAY),
    ("30 3 * * 0", 7 * DAY),
    ("30 3 ? * sun", 7 * DAY),
    ("0 0 1 jan,jul *", 184 * DAY),  # 1 July → 1 January
])
def test_longest_gap_between_runs(schedule: str, gap: int) -> None:
    assert max_gap_seconds(schedule) == gap


def test_day_of_month_and_weekday_combine_as_cron_does() -> None:
    # Both restricted: a day matching either runs (the 1st and every Monday).
    cron = parse_cron("0 0 1 * 1")
    assert max_gap_seconds("0 0 1 * 1") <= 7 * DAY
    assert cron.days_restricted and cron.weekdays_restricted
    # A day field starting with `*` (even with a step) counts as open, and then both must match:
    # odd days that are Mondays, as the controller runs it. 3 January 2028 is a Monday.
    stepped = parse_cron("0 0 */2 * 1")
    assert not stepped.days_restricted
    assert [stepped.runs_on(dt.date(2028, 1, d)) for d in (3, 5, 10, 17)] == [True, False, False, True]


@pytest.mark.parametrize("schedule", [
    "0 2 * * *", "*/15 1-5 * jan-mar mon,fri", "@daily", "30 4 1,15 * 0", "  0   2 * * *  ", "5/10 * ? * *",
    "0 0 31 2 *",  # accepted by the controller although it never runs (the backup check catches it)
])
def test_schedules_the_controller_accepts(schedule: str) -> None:
    assert cron_problem(schedule) is None


@pytest.mark.parametrize(("schedule", "why"), [
    ("every night", "2 field(s) where cron has 5"),
    ("", "0 field(s) where cron has 5"),
    ("*/5 * * * * *", "6 field(s)"),
    ("@every 1h", "2 field(s)"),
    ("61 * * * *", "the minute field '61' has '61', outside 0-59"),
    ("0 24 * * *", "the hour field '24' has '24', outside 0-23"),
    ("0 0 0 * *", "the day of month field '0' has '0', outside 1-31"),
    ("0 0 1 13 *", "the month field '13' has '13', outside 1-12"),
    # The controller's parser stops at 6: 7 is not a second Sunday there.
    ("30 3 * * 7", "the day of week field '7' has '7', outside 0-6"),
    ("0 2 * * funday", "the day of week field 'funday' has 'funday': use a number 0-6 or a name (sun–sat)"),
    ("0 2 * smarch *", "the month field 'smarch' has 'smarch': use a number 1-12 or a name (jan–dec)"),
    ("1,,2 * * * *", "the minute field '1,,2' has '': use a number 0-59"),
    ("5-1 * * * *", "the range '5-1' running backwards"),
    ("*/0 * * * *", "the step '0': use a whole number ≥ 1"),
    # Only ASCII digits are numbers to the controller (str.isdigit would take these).
    ("0 ² * * *", "the hour field '²' has '²': use a number 0-23"),
    ("*/٣ * * * *", "the step '٣': use a whole number ≥ 1"),
])
def test_schedules_the_controller_refuses_name_the_field(schedule: str, why: str) -> None:
    problem = cron_problem(schedule)
    assert problem is not None and why in problem
    with pytest.raises(ValueError, match="^" + re.escape(f"where: {schedule!r} is not a cron schedule: ")):
        check_schedule("where", schedule)


def test_a_schedule_that_never_runs_has_no_gap() -> None:
    with pytest.raises(ValueError, match="less than once a year"):
        max_gap_seconds("0 0 31 2 *")


def _at(path: str, value: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "p"}
    node = doc
    *parents, leaf = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return doc


# Every schedule the spec writes into a CronJob goes through the same check.
SCHEDULE_FIELDS = [
    "backup.schedule",
    "phases.serving.batch_scoring.schedule",
    "phases.serving.evidently.schedule",
    "phases.foundation.data_quality.schedule",
    "phases.foundation.feast.materialize_schedule",
]


@pytest.mark.parametrize("path", SCHEDULE_FIELDS)
def test_every_schedule_field_is_checked_as_the_controller_parses_it(path: str) -> None:
    with pytest.raises(SpecError) as err:
        spec_from_dict(_at(path, "30 3 * * 7"))
    assert f"{path}: '30 3 * * 7' is not a cron schedule: the day of week field '7'" in str(err.value)


@pytest.mark.parametrize("path", SCHEDULE_FIELDS)
def test_every_schedule_field_takes_names_and_folds_white_space(path: str) -> None:
    spec = spec_from_dict(_at(path, "0  2 * * mon-fri"))
    node: Any = spec
    for key in path.split("."):
        node = getattr(node, key)
    assert node == "0 2 * * mon-fri"
