"""Settings read back from the database: what an older version stored still opens."""

from __future__ import annotations

from pathlib import Path

from satchel.core.params import get_param, put_param
from satchel.core.settings import SETTINGS_KEY
from satchel.testing import running_app
from satchel.tools.jsonutil import dumps, loads


async def test_a_float_stored_for_an_int_opens_as_the_int(tmp_path: Path) -> None:
    """Before the API refused `1.5` for an int (as PocketBase's Go decoding does), it stored it;
    such a row must not stop the next start."""
    data = tmp_path / "pb_data"
    async with running_app(data) as app:
        stored = loads(await get_param(app.db.executor(), SETTINGS_KEY) or "{}")
        stored["logs"] = {**stored.get("logs", {}), "maxDays": 1.5, "maxDataSize": 2048.0}
        async with app.db.transaction() as tx:
            await put_param(tx, SETTINGS_KEY, dumps(stored).decode())
    async with running_app(data) as app:
        logs = app.settings.current["logs"]
        assert (logs["maxDays"], logs["maxDataSize"]) == (1, 2048)
        assert type(logs["maxDays"]) is int
