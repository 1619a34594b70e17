"""PocketBase's cron grammar: five space-separated fields or a macro, evaluated in UTC.

Not a general cron library on purpose. PocketBase accepts a narrower grammar than Vixie cron (no
month or weekday names, no `?`, `L`, `W` or `#`, exactly one space between fields) and a schedule
is due only when *every* field matches, day of month and day of week included, where classic cron
fires when either matches. `cronsim` and `croniter` both follow classic cron: a setting saved
through Satchel would be refused by PocketBase or fire on other days. Error messages are
PocketBase's, since they reach clients as settings validation errors.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_INT = re.compile(r"^[+-]?[0-9]+$")
_GO_INT_MAX = (1 << 63) - 1
SEARCH_DAYS = 366 * 28
"""How far `next_after` looks: day-of-month and weekday line up again within a 28-year cycle."""


class CronError(ValueError):
    """The expression is not valid; the message is PocketBase's wording."""


def _atoi(text: str) -> int:
    """Go's strconv.Atoi, with its error text (PocketBase shows it to clients as is)."""
    if not _INT.match(text):
        raise CronError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text)
    if not -_GO_INT_MAX - 1 <= value <= _GO_INT_MAX:
        raise CronError(f'strconv.Atoi: parsing "{text}": value out of range')
    return value


def _range(part: str, low: int, high: int, step: int) -> tuple[int, int]:
    if part == "*":
        return low, high
    bounds = part.split("-")
    if len(bounds) == 1:
        if step != 1:
            raise CronError("invalid segment step - step > 1 could be used only with the wildcard or range format")
        value = _atoi(bounds[0])
        if not low <= value <= high:
            raise CronError("invalid segment value - must be between the min and max of the segment")
        return value, value
    if len(bounds) != 2:
        raise CronError("invalid segment range format - the range must have 1 or 2 parts")
    first = _atoi(bounds[0])
    if not low <= first <= high:
        raise CronError(f"invalid segment range minimum - must be between {low} and {high}")
    last = _atoi(bounds[1])
    if not first <= last <= high:
        raise CronError(f"invalid segment range maximum - must be between {first} and {high}")
    return first, last


def _segment(segment: str, low: int, high: int) -> frozenset[int]:
    slots: set[int] = set()
    for item in segment.split(","):
        pieces = item.split("/")
        if len(pieces) > 2:
            raise CronError("invalid segment step format - must be in the format */n or 1-30/n")
        step = 1
        if len(pieces) == 2:
            step = _atoi(pieces[1])
            if not 1 <= step <= high:
                raise CronError(f"invalid segment step boundary - the step must be between 1 and the {high}")
        first, last = _range(pieces[0], low, high, step)
        slots.update(range(first, last + 1, step))
    return frozenset(slots)


@dataclass(frozen=True, slots=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 is Sunday, as in Go's time.Weekday."""

    @staticmethod
    def parse(expression: str) -> Schedule:
        expression = MACROS.get(expression, expression)
        segments = expression.split(" ")
        if len(segments) != 5:
            raise CronError(
                "invalid cron expression - must be a valid macro or to have exactly 5 space separated segments"
            )
        return Schedule(
            minutes=_segment(segments[0], 0, 59),
            hours=_segment(segments[1], 0, 23),
            days=_segment(segments[2], 1, 31),
            months=_segment(segments[3], 1, 12),
            weekdays=_segment(segments[4], 0, 6),
        )

    def _day_matches(self, dt: datetime) -> bool:
        return dt.month in self.months and dt.day in self.days and (dt.weekday() + 1) % 7 in self.weekdays

    def is_due(self, dt: datetime) -> bool:
        """Whether the minute `dt` falls in (taken in UTC) is one of the schedule's."""
        dt = dt.astimezone(UTC)
        return self._day_matches(dt) and dt.hour in self.hours and dt.minute in self.minutes

    def next_after(self, dt: datetime) -> datetime | None:
        """The first due minute strictly after `dt`, or None when none comes (`0 0 31 2 *`)."""
        start = dt.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


def error_message(exc: CronError) -> str:
    """The message as PocketBase's validation shows it: first letter upper-cased, a final period."""
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


async def every_minute(
    clock: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]],
    on_minute: Callable[[datetime], Awaitable[None]],
) -> None:
    """Call `on_minute(boundary)` at the start of every minute, forever (PocketBase's cron ticker).

    The clock is re-read after each sleep: a timer that fires a hair early sleeps again rather than
    ticking twice, and a late one still ticks the minute it woke in.
    """
    while True:
        now = clock()
        boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while (now := clock()) < boundary:
            await sleep((boundary - now).total_seconds())
        await on_minute(boundary)
