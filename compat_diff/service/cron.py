"""Cron-like schedules per endpoint: five fields (minute hour day month weekday) with ``*``,
numbers, ranges ``a-b``, lists ``a,b`` and steps ``*/n``; weekday 0 is Sunday."""

from __future__ import annotations

from datetime import datetime, timedelta

from compat_diff.errors import InputError

RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
# Look this far ahead for the next matching minute before calling the schedule impossible.
HORIZON = timedelta(days=400)


def _field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-", 1))
        else:
            start = end = int(base)
        if step < 1 or start < low or end > high or start > end:
            raise ValueError(part)
        values.update(range(start, end + 1, step))
    return values


def parse(schedule: str) -> list[set[int]]:
    fields = schedule.split()
    if len(fields) != 5:
        raise InputError(f"a schedule has five fields (minute hour day month weekday), got {schedule!r}.")
    try:
        return [_field(text, low, high) for text, (low, high) in zip(fields, RANGES, strict=True)]
    except ValueError as error:
        raise InputError(
            f"the schedule {schedule!r} has a field out of range or malformed: {error}."
        ) from None


def next_time(schedule: str, after: datetime) -> datetime:
    """The first whole minute strictly after ``after`` that ``schedule`` names."""
    minutes, hours, days, months, weekdays = parse(schedule)
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = after + HORIZON
    while moment <= limit:
        if moment.month not in months:
            moment = (moment.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        if moment.day not in days or (moment.isoweekday() % 7) not in weekdays:
            moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if moment.hour not in hours:
            moment = moment.replace(minute=0) + timedelta(hours=1)
            continue
        if moment.minute not in minutes:
            moment += timedelta(minutes=1)
            continue
        return moment
    raise InputError(f"the schedule {schedule!r} never fires.")
