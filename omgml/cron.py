"""Cron schedules as Kubernetes CronJobs read them (pure): parsing and the longest gap.

The backup alert needs to know how old the last good backup may be before something is wrong:
the longest time between two consecutive runs of the schedule. `max_gap_seconds` computes it
by listing every run over a leap year plus a week (long enough for monthly and yearly
schedules to repeat), day by day, so it costs a few hundred date checks, not a minute loop.

Supported: five fields (minute hour day-of-month month day-of-week), `*`, numbers, `a-b`,
`a,b`, steps `*/n` and `a-b/n`, and the macros Kubernetes accepts (@hourly, @daily, …). Day of
month and day of week combine as cron does: when both are restricted, a day matching either runs.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday (7 is folded into 0)
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


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                a, b = base.split("-", 1)
                start, end = int(a), int(b)
            else:
                start = int(base)
                end = high if step_text else start
        except ValueError:
            raise ValueError(f"{name} field {text!r}: use numbers, '*', 'a-b', 'a,b' or '*/n'") from None
        if step < 1 or not low <= start <= end <= high:
            raise ValueError(f"{name} field {text!r}: values must lie in {low}-{high} (ranges low to high, step ≥ 1)")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(schedule: str) -> Cron:
    """A schedule's fields, or ValueError saying which field is wrong."""
    text = MACROS.get(schedule.strip(), schedule.strip())
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"{schedule!r} is not a cron schedule: write five fields (minute hour day-of-month month "
                         "day-of-week), e.g. '0 2 * * *' for 02:00 every day")
    sets = [_field(p, name, low, high) for p, (name, low, high) in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(0 if d == 7 else d for d in sets[4])
    return Cron(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] != "*", parts[4] != "*")


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
