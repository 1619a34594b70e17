"""The `_params` key/value table: app secret, runtime settings and the schema version.

The schema version is bumped in the same transaction as every collection or settings change.
Each server process compares it with the version it loaded before serving a request, so with
several worker processes on one database a change made through one is seen by all, at once.
"""

from __future__ import annotations

from typing import Any

from satchel.ports.database import Executor
from satchel.tools.datetime import now_str
from satchel.tools.ids import random_string
from satchel.tools.sql import ir

PARAMS_TABLE = "_params"
VERSION_KEY = "schemaVersion"


async def get_param(ex: Executor, key: str) -> Any:
    return await ex.fetch_value(
        ir.Select((ir.col("value"),), ir.Table(PARAMS_TABLE), where=ir.eq(ir.col("id"), ir.Param(key)))
    )


async def put_param(ex: Executor, key: str, value: Any) -> None:
    now = now_str()
    n = await ex.execute(
        ir.Update(
            PARAMS_TABLE, {"value": ir.Param(value), "updated": ir.Param(now)}, ir.eq(ir.col("id"), ir.Param(key))
        )
    )
    if n == 0:
        await ex.execute(
            ir.Insert(
                PARAMS_TABLE,
                {"id": ir.Param(key), "value": ir.Param(value), "created": ir.Param(now), "updated": ir.Param(now)},
            )
        )


async def bump_version(ex: Executor) -> str:
    version = random_string(16)
    await put_param(ex, VERSION_KEY, version)
    return version


async def read_version(ex: Executor) -> str:
    value = await get_param(ex, VERSION_KEY)
    return str(value or "")
