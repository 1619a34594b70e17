"""TEMPORARY stand-in broker used until the realtime module lands."""

from __future__ import annotations

from typing import Any


class NullBroker:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def publish(self, action: str, record: Any) -> None:
        return None

    async def close(self) -> None:
        return None
