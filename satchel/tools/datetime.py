"""PocketBase's datetime wire format (`2006-01-02 15:04:05.000Z`, UTC) and the filter macros.

Parsing follows what PocketBase's `types.ParseDateTime` accepts for strings, because date field
values and filter literals written for PocketBase must mean the same instant here. Like
PocketBase, an unparseable value is not an error but "no date" (None / "").
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

LAYOUT = "2006-01-02 15:04:05.000Z"  # Go reference layout, for documentation and error messages

# RFC 3339 with `T` or a space, optional fraction (`.` or `,`), optional `Z`/`±hh:mm`/`±hhmm`, or a
# space and `±hhmm` with an optional zone name (Go's `time.Time.String()` output); or a bare date.
# Go's hour accepts one digit; everything else is fixed width.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:Z|([+-]\d{2}):?(\d{2})|\x20([+-]\d{2})(\d{2})(?:\x20[A-Z]{3,5})?)?)?",
    re.ASCII,
)
# The e-mail/Unix layouts PocketBase also recognises; a zone *name* carries no offset there
# (Go fabricates a zero-offset zone for unknown abbreviations), so it is dropped and UTC used.
_ZONE_NAME = re.compile(r"\x20[A-Z]{3,5}(?=(?:\x20\d{4})?$)", re.ASCII)
_NAMED_ZONE_FORMATS = (
    "%a, %d %b %Y %H:%M:%S",  # RFC 1123
    "%d %b %y %H:%M",  # RFC 822
    "%A, %d-%b-%y %H:%M:%S",  # RFC 850
    "%a %b %d %H:%M:%S %Y",  # Unix date
)
_OFFSET_FORMATS = (
    "%a, %d %b %Y %H:%M:%S %z",  # RFC 1123 with numeric zone
    "%d %b %y %H:%M %z",  # RFC 822 with numeric zone
    "%a %b %d %H:%M:%S %z %Y",  # Ruby date
)
_NO_ZONE_FORMATS = ("%a %b %d %H:%M:%S %Y",)  # ANSI C
_ZERO = datetime(1, 1, 1, tzinfo=UTC)  # Go's zero time, which PocketBase serialises as ""


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def format_dt(dt: datetime) -> str:
    """Wire form of `dt`; naive datetimes are taken as UTC and sub-milliseconds are truncated."""
    dt = _utc(dt)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def now_str() -> str:
    return format_dt(datetime.now(UTC))


def _parse_iso(text: str) -> datetime | None:
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, oh, om, sh, sm = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = UTC
    if oh or sh:
        hours, minutes = int(oh or sh), int(om or sm)
        if minutes >= 60:
            return None
        sign = -1 if hours < 0 or (oh or sh).startswith("-") else 1
        tz = timezone(sign * timedelta(hours=abs(hours), minutes=minutes))
    return datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tzinfo=tz
    )


def _parse_layouts(text: str) -> datetime | None:
    attempts = [(f, text) for f in _OFFSET_FORMATS + _NO_ZONE_FORMATS]
    stripped = _ZONE_NAME.sub("", text, count=1)
    if stripped != text:
        attempts += [(f, stripped) for f in _NAMED_ZONE_FORMATS]
    for fmt, candidate in attempts:
        try:
            return datetime.strptime(candidate, fmt)  # naive: taken as UTC by the caller
        except ValueError:
            continue
    return None


def parse_dt(value: object) -> datetime | None:
    """A UTC datetime, or None where PocketBase would hold the zero ("") datetime.

    Accepts datetimes (naive = UTC), unix seconds (int or float) and the string layouts above.
    """
    dt: datetime | None
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, bool) or value is None:
            return None
        elif isinstance(value, int | float):
            dt = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str) and value:
            dt = _parse_iso(value) or _parse_layouts(value)
        else:
            return None
        if dt is None:
            return None
        dt = _utc(dt)
    except (OverflowError, OSError, ValueError):  # out-of-range fields, offsets or timestamps
        return None
    return None if dt == _ZERO else dt


def normalize_dt(value: object) -> str:
    """A value in the wire format, or "" when it is not a datetime."""
    if type(value) is str:
        return _normalize_text(value)
    dt = parse_dt(value)
    return format_dt(dt) if dt is not None else ""


@functools.lru_cache(maxsize=8192)
def _normalize_text(value: str) -> str:
    """Stored dates are re-read on every request (the caller's auth record, the same list pages):
    parsing and formatting them again cost ~20 us of a ~475 us authenticated create, so text results
    are cached."""
    dt = parse_dt(value)
    return format_dt(dt) if dt is not None else ""


def _end_of_day(dt: datetime) -> datetime:
    return dt.replace(hour=23, minute=59, second=59, microsecond=999999)


def macro_value(name: str, now: datetime) -> str | int | None:
    """Value of a filter datetime macro such as `@now` or `@todayStart` (None for unknown names).

    Datetimes come back in wire format (so they compare as text with stored values), the calendar
    parts as ints; everything is in UTC, and `@weekday` counts from Sunday = 0 as Go does.
    """
    now = _utc(now)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    last_day = calendar.monthrange(now.year, now.month)[1]
    builders: dict[str, Callable[[], str | int]] = {
        "@now": lambda: format_dt(now),
        "@yesterday": lambda: format_dt(now - timedelta(days=1)),
        "@tomorrow": lambda: format_dt(now + timedelta(days=1)),
        "@second": lambda: now.second,
        "@minute": lambda: now.minute,
        "@hour": lambda: now.hour,
        "@day": lambda: now.day,
        "@month": lambda: now.month,
        "@weekday": lambda: (now.weekday() + 1) % 7,
        "@year": lambda: now.year,
        "@todayStart": lambda: format_dt(day_start),
        "@todayEnd": lambda: format_dt(_end_of_day(day_start)),
        "@monthStart": lambda: format_dt(day_start.replace(day=1)),
        "@monthEnd": lambda: format_dt(_end_of_day(day_start.replace(day=last_day))),
        "@yearStart": lambda: format_dt(day_start.replace(month=1, day=1)),
        "@yearEnd": lambda: format_dt(_end_of_day(day_start.replace(month=12, day=31))),
    }
    build = builders.get(name)
    return build() if build is not None else None


MACROS = (
    "@now", "@second", "@minute", "@hour", "@weekday", "@day", "@month", "@year", "@yesterday", "@tomorrow",
    "@todayStart", "@todayEnd", "@monthStart", "@monthEnd", "@yearStart", "@yearEnd",
)  # fmt: skip
