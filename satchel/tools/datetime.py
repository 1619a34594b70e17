"""PocketBase's datetime wire format (`2006-01-02 15:04:05.000Z`, UTC) and the filter macros."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

LAYOUT = "%Y-%m-%d %H:%M:%S"


def format_dt(dt: datetime) -> str:
    dt = dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.strftime(LAYOUT) + f".{dt.microsecond // 1000:03d}Z"


def now_str() -> str:
    return format_dt(datetime.now(UTC))


def parse_dt(value: object) -> datetime | None:
    """Parse what PocketBase accepts: RFC 3339 with `T` or a space, date-only, unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            d = date.fromisoformat(text)
        except ValueError:
            return None
        dt = datetime(d.year, d.month, d.day)
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def normalize_dt(value: object) -> str:
    """A value in the wire format, or "" when it is not a datetime."""
    dt = parse_dt(value)
    return format_dt(dt) if dt is not None else ""


def macro_value(name: str, now: datetime) -> str | int | None:
    """Value of a datetime macro such as `@now` or `@todayStart` (None for unknown names)."""
    now = now.astimezone(UTC)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    last_day = calendar.monthrange(now.year, now.month)[1]
    macros: dict[str, str | int] = {
        "@now": format_dt(now),
        "@yesterday": format_dt(now - timedelta(days=1)),
        "@tomorrow": format_dt(now + timedelta(days=1)),
        "@second": now.second,
        "@minute": now.minute,
        "@hour": now.hour,
        "@day": now.day,
        "@month": now.month,
        "@weekday": (now.weekday() + 1) % 7,
        "@year": now.year,
        "@todayStart": format_dt(day_start),
        "@todayEnd": format_dt(day_start.replace(hour=23, minute=59, second=59, microsecond=999000)),
        "@monthStart": format_dt(day_start.replace(day=1)),
        "@monthEnd": format_dt(day_start.replace(day=last_day, hour=23, minute=59, second=59, microsecond=999000)),
        "@yearStart": format_dt(day_start.replace(month=1, day=1)),
        "@yearEnd": format_dt(day_start.replace(month=12, day=31, hour=23, minute=59, second=59, microsecond=999000)),
    }
    return macros.get(name)
