"""PocketBase's cron grammar: what it accepts, its messages, and when a schedule is next due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from satchel.tools.cron import CronError, Schedule, error_message


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("bad", "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments."),
        (
            "* * * *  *",
            "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments.",
        ),
        (" @daily", "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments."),
        ("*/0 * * * *", "Invalid segment step boundary - the step must be between 1 and the 59."),
        ("1-70 * * * *", "Invalid segment range maximum - must be between 1 and 59."),
        ("70-71 * * * *", "Invalid segment range minimum - must be between 0 and 59."),
        ("a * * * *", 'Strconv.Atoi: parsing "a": invalid syntax.'),
        ("5/2 * * * *", "Invalid segment step - step > 1 could be used only with the wildcard or range format."),
        ("* * * * 7", "Invalid segment value - must be between the min and max of the segment."),
        ("* * 0 * *", "Invalid segment value - must be between the min and max of the segment."),
        ("1-2-3 * * * *", "Invalid segment range format - the range must have 1 or 2 parts."),
        ("*/2/3 * * * *", "Invalid segment step format - must be in the format */n or 1-30/n."),
        ("* * * MON *", 'Strconv.Atoi: parsing "MON": invalid syntax.'),
        ("99999999999999999999 * * * *", 'Strconv.Atoi: parsing "99999999999999999999": value out of range.'),
    ],
)
def test_invalid_expressions_carry_pocketbase_messages(expression: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        Schedule.parse(expression)
    assert error_message(info.value) == message


@pytest.mark.parametrize(
    "expression",
    ["* * * * *", "@daily", "@hourly", "@yearly", "0 0 31 2 *", "1,2,10-20/5 */3 1-31 * 0-6", "+5 * * * *"],
)
def test_valid_expressions(expression: str) -> None:
    Schedule.parse(expression)


def test_macros_expand() -> None:
    assert Schedule.parse("@weekly") == Schedule.parse("0 0 * * 0")
    assert Schedule.parse("10-20/5,59 * * * *").minutes == {10, 15, 20, 59}


def test_day_of_month_and_weekday_must_both_match() -> None:
    # classic cron would fire on every 13th and every Friday; PocketBase only on Friday the 13th
    friday_13th = Schedule.parse("0 12 13 * 5")
    nxt = friday_13th.next_after(at("2026-01-01T00:00"))
    assert nxt == at("2026-02-13T12:00")
    assert friday_13th.is_due(at("2026-02-13T12:00:59"))
    assert not friday_13th.is_due(at("2026-01-13T12:00"))  # a Tuesday
    assert not friday_13th.is_due(at("2026-03-06T12:00"))  # a Friday, not the 13th
    assert friday_13th.next_after(nxt) == at("2026-03-13T12:00")


def test_next_after_is_strictly_later_and_in_utc() -> None:
    every_15 = Schedule.parse("*/15 * * * *")
    assert every_15.next_after(at("2026-05-01T10:00")) == at("2026-05-01T10:15")
    assert every_15.next_after(at("2026-05-01T10:14:59.9")) == at("2026-05-01T10:15")
    assert every_15.next_after(at("2026-05-01T23:59")) == at("2026-05-02T00:00")
    plus_two = timezone(timedelta(hours=2))
    daily = Schedule.parse("@daily")
    assert daily.next_after(datetime(2026, 5, 1, 1, 30, tzinfo=plus_two)) == at("2026-05-01T00:00")
    assert daily.is_due(datetime(2026, 5, 1, 2, 0, tzinfo=plus_two))
    assert Schedule.parse("0 0 29 2 *").next_after(at("2026-03-01T00:00")) == at("2028-02-29T00:00")
    assert Schedule.parse("0 0 31 2 *").next_after(at("2026-01-01T00:00")) is None
