"""Cron schedules as Kubernetes' CronJob controller reads them (pure): the one check and the longest gap.

Every schedule omgml writes into a CronJob (backups, batch scoring, drift, data quality, Feast's
materialization) is checked here, so a schedule the API server would refuse at `pulumi up` is
refused at `omgml init`/`render` instead, with the field that is wrong.

The syntax is the controller's parser's (robfig/cron's standard spec): five fields (minute hour
day-of-month month day-of-week), `*` or `?`, numbers, `a-b`, `a,b`, steps `*/n`, `a/n` and `a-b/n`,
month names jan–dec and weekday names sun–sat in any case, day of week 0–6 (Sunday is 0; 7 is
refused as the controller refuses it), and the macros @yearly, @annually, @monthly, @weekly,
@daily, @midnight, @hourly. Day of month and day of week combine as cron does: when both are
restricted, a day matching either runs.

The backup alert needs to know how old the last good backup may be before something is wrong:
the longest time between two consecutive runs. `max_gap_seconds` computes it by listing every run
over a leap year plus a week (long enough for monthly and yearly schedules to repeat), day by day,
so it costs a few hundred date checks, not a minute loop.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    # Names that stand for numbers, the first for `low`.
    names: tuple[str, ...] = field(default=())


_FIELDS = (_Field("minute", 0, 59), _Field("hour", 0, 23), _Field("day of month", 1, 31),
           _Field("month", 1, 12, _MONTHS), _Field("day of week", 0, 6, _WEEKDAYS))


class _Invalid(Exception):
    """One field's problem, worded for the person who wrote the schedule."""


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def runs_on(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow


def _digits(text: str) -> bool:
    """ASCII digits only, as the controller's parser reads numbers (str.isdigit also takes '²' or '٣')."""
    return text.isascii() and text.isdigit()


def _number(token: str, text: str, f: _Field) -> int:
    if token.lower() in f.names:
        return f.low + f.names.index(token.lower())
    if not _digits(token):
        named = f" or a name ({f.names[0]}–{f.names[-1]})" if f.names else ""
        raise _Invalid(f"the {f.name} field {text!r} has {token!r}: use a number {f.low}-{f.high}{named}")
    if not f.low <= int(token) <= f.high:
        raise _Invalid(f"the {f.name} field {text!r} has {token!r}, outside {f.low}-{f.high}")
    return int(token)


def _values(text: str, f: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not (_digits(step_text) and int(step_text) >= 1):
            raise _Invalid(f"the {f.name} field {text!r} has the step {step_text!r}: use a whole number ≥ 1")
        if base in ("*", "?"):
            start, end = f.low, f.high
        else:
            first, dash, last = base.partition("-")
            start = _number(first, text, f)
            end = _number(last, text, f) if dash else (f.high if slash else start)
            if start > end:
                raise _Invalid(f"the {f.name} field {text!r} has the range {base!r} running backwards; write it low-high")
        values.update(range(start, end + 1, int(step_text) if slash else 1))
    return frozenset(values)


def _parse(schedule: str) -> Cron:
    text = " ".join(schedule.split())
    parts = MACROS.get(text, text).split(" ")
    if len(parts) != len(_FIELDS):
        raise _Invalid(f"{len(parts) if text else 0} field(s) where cron has 5 (minute hour day-of-month month "
                       "day-of-week), e.g. '0 2 * * *' for 02:00 every day, or a macro such as @daily")
    sets = [_values(p, f) for p, f in zip(parts, _FIELDS, strict=True)]
    return Cron(sets[0], sets[1], sets[2], sets[3], sets[4], _restricted(parts[2]), _restricted(parts[4]))


def _restricted(text: str) -> bool:
    """Whether a day field narrows the days: as the controller's parser, a part starting with `*` or
    `?` (even `*/2`) leaves it open, and the other day field alone decides."""
    return not any(part.partition("/")[0] in ("*", "?") for part in text.split(","))


def cron_problem(schedule: str) -> str | None:
    """Why `schedule` is not a schedule Kubernetes' CronJob controller accepts, or None."""
    try:
        _parse(schedule)
    except _Invalid as exc:
        return str(exc)
    return None


def valid_schedule(schedule: str) -> str:
    """`schedule` with its whitespace collapsed, or ValueError saying what is wrong (a spec field's validator)."""
    parse_cron(schedule)
    return " ".join(schedule.split())


def check_schedule(where: str, schedule: str) -> str:
    """valid_schedule for a component's args: the ValueError names `where`, the field."""
    try:
        return valid_schedule(schedule)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_cron(schedule: str) -> Cron:
    """A schedule's fields, or ValueError saying which field is wrong."""
    try:
        return _parse(schedule)
    except _Invalid as exc:
        raise ValueError(f"{schedule!r} is not a cron schedule: {exc}") from None


def run_times(cron: Cron, start: dt.date, days: int) -> list[dt.datetime]:
    times = sorted(dt.time(h, m) for h in cron.hours for m in cron.minutes)
    out: list[dt.datetime] = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        if cron.runs_on(day):
            out.extend(dt.datetime.combine(day, t) for t in times)
    return out


def max_gap_seconds(schedule: str) -> int:
    """The longest time between two consecutive runs of `schedule` (seconds)."""
    cron = parse_cron(schedule)
    # 2028 is a leap year starting on a Saturday: every day of month and weekday combination occurs.
    runs = run_times(cron, dt.date(2028, 1, 1), 366 + 7)
    if len(runs) < 2:
        raise ValueError(f"{schedule!r} runs less than once a year (e.g. only on 31 February); choose a schedule "
                         "that runs at least every few days")
    return int(max((b - a).total_seconds() for a, b in itertools.pairwise(runs)))
