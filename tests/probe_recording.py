"""Records the probes (`satchel.tools.probes`) fired while a test runs, with a real listener."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from satchel.tools import probes


@dataclass(frozen=True)
class Fired:
    name: str
    start_ns: int
    end_ns: int
    attrs: dict[str, Any]
    error: BaseException | None


@dataclass
class Recorder:
    fired: list[Fired] = field(default_factory=list)

    def __call__(self, name: str, start: int, end: int, attrs: dict[str, Any], error: BaseException | None) -> None:
        self.fired.append(Fired(name, start, end, dict(attrs), error))

    def named(self, name: str) -> list[Fired]:
        return [f for f in self.fired if f.name == name]

    def clear(self) -> None:
        self.fired.clear()


@contextmanager
def recording() -> Iterator[Recorder]:
    recorder = Recorder()
    probes.listen(recorder)
    try:
        yield recorder
    finally:
        probes.unlisten(recorder)
