"""Datetime parsing/formatting and the filter macros, checked against PocketBase's behaviour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from satchel.tools.datetime import MACROS, format_dt, macro_value, normalize_dt, now_str, parse_dt

# Recorded from PocketBase 0.40.6: the value POSTed to a date field -> the value it answered with.
POCKETBASE_DATE_FIELD = [
    ("2024-01-02 03:04:05.123Z", "2024-01-02 03:04:05.123Z"),
    ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05.000Z"),
    ("2024-01-02T03:04:05.123456789Z", "2024-01-02 03:04:05.123Z"),
    ("2024-01-02T03:04:05+02:00", "2024-01-02 01:04:05.000Z"),
    ("2024-01-02 03:04:05+02:00", "2024-01-02 01:04:05.000Z"),
    ("2024-01-02 03:04:05+0200", "2024-01-02 01:04:05.000Z"),
    ("2024-01-02T03:04:05+0200", "2024-01-02 01:04:05.000Z"),
    ("2024-01-02 03:04:05", "2024-01-02 03:04:05.000Z"),
    ("2024-01-02T03:04:05", "2024-01-02 03:04:05.000Z"),
    ("2024-01-02", "2024-01-02 00:00:00.000Z"),
    ("2024-01-02 03:04:05.5", "2024-01-02 03:04:05.500Z"),
    ("2024-01-02 03:04:05Z", "2024-01-02 03:04:05.000Z"),
    ("2024-01-02T03:04:05.1+02:00", "2024-01-02 01:04:05.100Z"),
    ("1700000000", ""),
    ("garbage", ""),
    ("2024-1-2", ""),
    ("Tue, 02 Jan 2024 03:04:05 +0200", "2024-01-02 01:04:05.000Z"),
    ("2024-01-02 03:04:05.123 +0200 CEST", "2024-01-02 01:04:05.123Z"),
    ("2024-01-02 03:04", ""),
    ("2024-01-02T03:04:05z", ""),
    ("  2024-01-02", ""),
    ("2024-01-02 03:04:05.123456Z", "2024-01-02 03:04:05.123Z"),
    ("2024-13-02", ""),
    ("2024-02-30", ""),
    ("2024-01-02 03:04:05.9999Z", "2024-01-02 03:04:05.999Z"),
    ("2024-01-02T03:04:05.9999+01:00", "2024-01-02 02:04:05.999Z"),
    ("0001-01-01 00:00:00.000Z", ""),
    ("2024-01-02T03:04:05-07:00", "2024-01-02 10:04:05.000Z"),
    ("2024-01-02 03:04:05 +0200", "2024-01-02 01:04:05.000Z"),
    ("2024-01-02T03:04:05+02", ""),
    ("2024-01-02t03:04:05Z", ""),
    ("2024-01-02T03:04:05.123", "2024-01-02 03:04:05.123Z"),
    ("2024-01-02T03:04:05,123Z", "2024-01-02 03:04:05.123Z"),
    ("2024-01-02T23:59:60Z", ""),
    ("2024-01-02Z", ""),
    ("2024-01-02 03:04:05.Z", ""),
    ("2024-01-02T03:04:05.123456789123Z", "2024-01-02 03:04:05.123Z"),
    ("Tue, 02 Jan 2024 03:04:05 GMT", "2024-01-02 03:04:05.000Z"),
    ("02 Jan 24 03:04 +0200", "2024-01-02 01:04:00.000Z"),
    ("Tuesday, 02-Jan-24 03:04:05 UTC", "2024-01-02 03:04:05.000Z"),
    ("Tue Jan  2 03:04:05 2024", "2024-01-02 03:04:05.000Z"),
    ("Tue Jan  2 03:04:05 UTC 2024", "2024-01-02 03:04:05.000Z"),
    ("Tue Jan 02 03:04:05 +0200 2024", "2024-01-02 01:04:05.000Z"),
    ("2024-01-02 03:04:05 +0200 +0200", ""),
    ("2024-01-02T03:04:05-00:00", "2024-01-02 03:04:05.000Z"),
    ("2024-01-02 24:00:00", ""),
    ("2024-01-02T03:04:05+14:00", "2024-01-01 13:04:05.000Z"),
    ("2024-01-02T03:04:05+02:00 ", ""),
    ("1969-12-31 23:59:59.000Z", "1969-12-31 23:59:59.000Z"),
    ("2024-01-02 3:04:05", "2024-01-02 03:04:05.000Z"),
    (True, ""),
]


@pytest.mark.parametrize(("raw", "expected"), POCKETBASE_DATE_FIELD)
def test_parse_like_pocketbase(raw: object, expected: str) -> None:
    assert normalize_dt(raw) == expected


@pytest.mark.parametrize("raw", ["", None, [], {}, b"2024-01-02", "2024-01-02T03:04:05+25:00", "2024-01-02T03:04:05+01:60"])
def test_parse_non_dates(raw: object) -> None:
    assert parse_dt(raw) is None


def test_parse_numbers_and_datetimes() -> None:
    assert normalize_dt(0) == "1970-01-01 00:00:00.000Z"
    assert normalize_dt(1700000000) == "2023-11-14 22:13:20.000Z"
    assert normalize_dt(1700000000.25) == "2023-11-14 22:13:20.250Z"
    assert parse_dt(10**20) is None and parse_dt(float("nan")) is None
    naive = datetime(2024, 5, 6, 7, 8, 9)
    assert parse_dt(naive) == naive.replace(tzinfo=UTC)
    aware = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-3)))
    parsed = parse_dt(aware)
    assert parsed is not None and parsed.tzinfo == UTC and parsed.hour == 10
    assert parse_dt(datetime(1, 1, 1, tzinfo=UTC)) is None  # Go's zero time


def test_format() -> None:
    assert format_dt(datetime(2024, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)) == "2024-01-02 03:04:05.678Z"
    assert format_dt(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05.000Z"
    assert format_dt(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02 00:00:00.000Z"
    offset = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_dt(offset) == "2023-12-31 23:00:00.000Z"
    now = parse_dt(now_str())
    assert now is not None and abs(now - datetime.now(UTC)) < timedelta(days=1)


def test_round_trip() -> None:
    text = "2024-02-29 13:14:15.500Z"
    dt = parse_dt(text)
    assert dt is not None and format_dt(dt) == text


NOW = datetime(2024, 2, 29, 13, 14, 15, 500000, tzinfo=UTC)  # a leap day, a Thursday


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("@now", "2024-02-29 13:14:15.500Z"),
        ("@yesterday", "2024-02-28 13:14:15.500Z"),
        ("@tomorrow", "2024-03-01 13:14:15.500Z"),
        ("@second", 15),
        ("@minute", 14),
        ("@hour", 13),
        ("@day", 29),
        ("@month", 2),
        ("@weekday", 4),
        ("@year", 2024),
        ("@todayStart", "2024-02-29 00:00:00.000Z"),
        ("@todayEnd", "2024-02-29 23:59:59.999Z"),
        ("@monthStart", "2024-02-01 00:00:00.000Z"),
        ("@monthEnd", "2024-02-29 23:59:59.999Z"),
        ("@yearStart", "2024-01-01 00:00:00.000Z"),
        ("@yearEnd", "2024-12-31 23:59:59.999Z"),
    ],
)
def test_macros(name: str, expected: str | int) -> None:
    value = macro_value(name, NOW)
    assert value == expected and type(value) is type(expected)


def test_macro_edges() -> None:
    assert set(MACROS) == {m for m in MACROS if macro_value(m, NOW) is not None} and len(MACROS) == 16
    assert macro_value("@nope", NOW) is None and macro_value("now", NOW) is None
    sunday = datetime(2024, 3, 3, tzinfo=UTC)
    assert macro_value("@weekday", sunday) == 0
    # macros are UTC: 01:00 at +02:00 is the previous day
    local = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert macro_value("@todayStart", local) == "2023-12-31 00:00:00.000Z"
    assert macro_value("@year", local) == 2023
    assert macro_value("@monthEnd", datetime(2023, 2, 10, tzinfo=UTC)) == "2023-02-28 23:59:59.999Z"
    assert macro_value("@tomorrow", datetime(2023, 12, 31, 12, tzinfo=UTC)) == "2024-01-01 12:00:00.000Z"
    assert macro_value("@hour", datetime(2024, 1, 1, 5)) == 5  # naive means UTC, not local time
