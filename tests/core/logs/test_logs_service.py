"""`app.logs`: what settings.logs keeps, batched writes to the auxiliary database, and reads back
through the records filter language (list, view, hourly stats, delete, retention)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from satchel.core.app import App
from satchel.core.errors import NotFoundError
from satchel.core.logs.model import DEBUG, ERROR, INFO, WARN
from satchel.core.logs.request_entry import RequestSummary
from satchel.core.logs.service import LogsPage, fit_data
from satchel.core.rules.resolver import FilterError
from satchel.testing import postgres as pg_testing
from satchel.testing import running_app
from satchel.tools.datetime import format_dt


async def _messages(app: App, filter_text: str = "", sort: str = "") -> list[str]:
    await app.logs.flush()
    page = await app.logs.page(LogsPage(1, 100, sort, filter_text))
    return [item["message"] for item in page["items"]]


async def _until_idle(app: App) -> None:
    """Wait for the writer's own timer or batch trigger (nobody calls flush)."""
    for _ in range(1000):
        if app.logs.writer.idle:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer never wrote its buffer")


async def test_entries_are_buffered_then_written_in_one_batch(app: App) -> None:
    app.logs.add(INFO, "first", {"type": "app"})
    app.logs.add(ERROR, "second", {"type": "app", "n": 2})
    assert app.logs.writer.pending == 2
    assert await _messages(app) == ["first", "second"]
    assert app.logs.writer.pending == 0


async def test_the_timer_flushes_without_anyone_asking(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        app.logs.writer.interval = 0.05
        app.logs.add(INFO, "timed", {})
        await _until_idle(app)
        page = await app.logs.page(LogsPage(1, 10))
        assert [i["message"] for i in page["items"]] == ["timed"]


async def test_a_full_batch_is_written_at_once(app: App) -> None:
    app.logs.writer.batch_size = 5
    app.logs.writer.interval = 3600  # the timer alone would never fire during the test
    for i in range(5):
        app.logs.add(INFO, f"m{i}", {})
    await _until_idle(app)
    page = await app.logs.page(LogsPage(1, 10))
    assert page["totalItems"] == 5


async def test_entries_from_another_thread_are_kept(app: App) -> None:
    app.logs.add(INFO, "loop", {})  # the writer learns its loop
    thread = threading.Thread(target=lambda: app.logs.add(WARN, "thread", {}))
    thread.start()
    thread.join()
    assert sorted(await _messages(app)) == ["loop", "thread"]


async def test_min_level_and_max_days_decide_what_is_kept(app: App) -> None:
    await app.settings.patch({"logs": {"minLevel": WARN}})
    assert app.logs.add(INFO, "info", {}) is None
    assert app.logs.add(WARN, "warn", {}) is not None
    await app.settings.patch({"logs": {"maxDays": 0}})
    assert app.logs.add(ERROR, "off", {}) is None
    assert await _messages(app) == ["warn"]


async def test_filter_sort_and_paging_use_the_filter_language(app: App) -> None:
    for i, status in enumerate((200, 404, 500, 201)):
        app.logs.add(ERROR if status >= 400 else INFO, f"r{i}", {"type": "request", "status": status, "execTime": i})
    assert await _messages(app, "data.status >= 400") == ["r1", "r2"]
    assert await _messages(app, "level = 0 && data.type = 'request'") == ["r0", "r3"]
    assert await _messages(app, "message ~ 'r%'", "-data.execTime") == ["r3", "r2", "r1", "r0"]
    assert await _messages(app, "data.missing.deep = 1") == []
    page = await app.logs.page(LogsPage(2, 3, "message"))
    assert ([i["message"] for i in page["items"]], page["totalItems"], page["totalPages"]) == (["r3"], 4, 2)


async def test_filter_values_are_bound_never_sql(app: App) -> None:
    app.logs.add(INFO, "it's", {"q": "'; DROP TABLE _logs; --"})
    assert await _messages(app, 'data.q = "\'; DROP TABLE _logs; --"') == ["it's"]
    assert await _messages(app, 'message = "it\'s"') == ["it's"]


@pytest.mark.parametrize("text", ["bad(", "unknown = 1", "data.x ==", "@request.auth.id = ''"])
async def test_a_bad_filter_is_a_filter_error(app: App, text: str) -> None:
    app.logs.add(INFO, "x", {})
    with pytest.raises(FilterError):
        await app.logs.page(LogsPage(1, 10, "", text))


async def test_view_by_id(app: App) -> None:
    entry_id = app.logs.add(WARN, "seen", {"a": [1, 2]})
    assert entry_id is not None
    await app.logs.flush()
    entry = await app.logs.view(entry_id)
    assert entry == {"id": entry_id, "created": entry["created"], "data": {"a": [1, 2]}, "message": "seen", "level": 4}
    with pytest.raises(NotFoundError):
        await app.logs.view("missing")


async def test_stats_count_per_hour_with_a_filter(app: App) -> None:
    base = datetime(2026, 1, 2, 10, 15, tzinfo=UTC)
    for minutes, level in ((0, INFO), (10, ERROR), (70, ERROR), (130, DEBUG)):
        app.logs.writer.add(level, "m", {}, created=format_dt(base + timedelta(minutes=minutes)))
    await app.logs.flush()
    assert await app.logs.stats("") == [
        {"date": "2026-01-02 10:00:00.000Z", "total": 2},
        {"date": "2026-01-02 11:00:00.000Z", "total": 1},
        {"date": "2026-01-02 12:00:00.000Z", "total": 1},
    ]
    assert await app.logs.stats("level >= 8") == [
        {"date": "2026-01-02 10:00:00.000Z", "total": 1},
        {"date": "2026-01-02 11:00:00.000Z", "total": 1},
    ]


async def test_delete_with_and_without_a_filter(app: App) -> None:
    for status in (200, 404, 404):
        app.logs.add(INFO, str(status), {"status": status})
    assert await app.logs.delete("data.status = 404") == 2
    assert await _messages(app) == ["200"]
    app.logs.add(INFO, "buffered", {})  # not yet written: deleted with the rest
    assert await app.logs.delete() == 2
    assert await _messages(app) == []


async def test_retention_removes_entries_older_than_max_days(app: App) -> None:
    now = datetime.now(UTC)
    for days in (0, 4, 6, 30):
        app.logs.writer.add(INFO, f"{days}d", {}, created=format_dt(now - timedelta(days=days, minutes=1)))
    await app.logs.flush()
    await app.settings.patch({"logs": {"maxDays": 5}})
    await app.crons.run("__pbLogsCleanup__")
    assert sorted(await _messages(app)) == ["0d", "4d"]


async def test_retention_longer_than_the_calendar_keeps_everything(app: App) -> None:
    """`maxDays` may be up to 2^53-1 (PocketBase's bound); its cutoff is before year 1, which a
    datetime cannot hold: nothing is old enough, and the job must not fail every 6 hours."""
    app.logs.writer.add(INFO, "old", {}, created=format_dt(datetime.now(UTC) - timedelta(days=3000)))
    await app.logs.flush()
    await app.settings.patch({"logs": {"maxDays": (1 << 53) - 1}})
    await app.logs.cleanup()
    assert await app.logs.delete_older_than(1_000_000) == 0
    assert await _messages(app) == ["old"]


def test_oversized_data_is_cut_to_max_data_size() -> None:
    data = {"type": "request", "url": "/x" * 1000, "details": {"big": "y" * 5000}, "status": 400}
    small = fit_data(data, 600)
    assert "details" not in small and small["truncated"] is True
    assert len(small["url"]) == 256 and small["status"] == 400
    assert fit_data(data, 20) == {"type": "request", "truncated": True, "size": len(orjson.dumps(data))}
    assert fit_data({"a": 1}, 600) == {"a": 1}


async def test_max_data_size_applies_to_added_entries(app: App) -> None:
    await app.settings.patch({"logs": {"maxDataSize": 400}})
    entry_id = app.logs.add(INFO, "big", {"text": "z" * 1000})
    assert entry_id is not None
    await app.logs.flush()
    data = (await app.logs.view(entry_id))["data"]
    assert data["truncated"] is True and len(data["text"]) == 256


async def test_where_logs_live(app: App) -> None:
    """SQLite: `auxiliary.db` next to `data.db` (PocketBase's layout); PostgreSQL: `_logs` in the
    same database and schema, written through a pool of its own."""
    app.logs.add(INFO, "here", {})
    await app.logs.flush()
    assert await app.logs.db.table_columns("_logs") == ["id", "created", "level", "message", "data"]
    if pg_testing.enabled():
        assert app.logs.db is not app.db
        assert await app.db.table_columns("_logs") == ["id", "created", "level", "message", "data"]
    else:
        assert (app.config.data_dir / "auxiliary.db").is_file()
        assert await app.db.table_columns("_logs") == []


def _summary(path: str, status: int = 200, created: float = 0.0) -> RequestSummary:
    return RequestSummary("GET", path, "", status, 1.5, "rid", created=created or datetime.now(UTC).timestamp())


async def test_request_summaries_become_entries_when_their_batch_is_written(app: App) -> None:
    logs = app.settings.current["logs"]
    app.logs.add_request(_summary("/a"), logs)
    app.logs.add_request(_summary("/b", 404), logs)
    assert app.logs.writer.pending == 2  # kept as they came: nothing built yet
    await app.logs.flush()
    items = (await app.logs.page(LogsPage(1, 10, "created", "")))["items"]
    assert [(i["message"], i["level"], i["data"]["status"]) for i in items] == [
        ("GET /a", INFO, 200),
        ("GET /b", ERROR, 404),
    ]
    assert items[1]["data"]["error"] == "Request failed." and items[0]["data"]["requestId"] == "rid"


async def test_request_summaries_follow_the_settings(app: App) -> None:
    app.logs.add_request(_summary("/off"), {**app.settings.current["logs"], "maxDays": 0})
    app.logs.add_request(_summary("/quiet"), {**app.settings.current["logs"], "minLevel": WARN})
    app.logs.add_request(_summary("/loud", 500), {**app.settings.current["logs"], "minLevel": WARN})
    assert await _messages(app) == ["GET /loud"]


async def test_a_deferred_entry_that_cannot_be_rendered_is_reported_and_the_others_kept(app: App) -> None:
    errors: list[str] = []
    app.logs.writer.on_error = errors.append
    render = app.logs.writer.render
    assert render is not None

    def fragile(summary: RequestSummary) -> tuple[int, str, dict[str, object], float] | None:
        if summary.path == "/bad":
            raise ValueError("boom")
        return render(summary)

    app.logs.writer.render = fragile
    logs = app.settings.current["logs"]
    for path in ("/ok", "/bad", "/later"):
        app.logs.add_request(_summary(path), logs)
    assert await _messages(app) == ["GET /ok", "GET /later"]
    assert app.logs.writer.dropped == 1 and "boom" in errors[0]
