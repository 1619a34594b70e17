"""Migration files on disk: `<unix-ts>_<name>.py`, each defining `async def up(app)` and `async def down(app)`.

Files are loaded by path (their names start with digits, so they are not importable modules) and
checked before anything runs: a typo fails start-up with the file's name, not half-way through.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from satchel.core.app import App

FILE_PATTERN = re.compile(r"^(\d+)_([A-Za-z0-9_]*)\.py$")
"""A migration file's name; other files in the folder (helpers, `__init__.py`) are left alone."""

Step = Callable[["App"], Awaitable[None]]


class MigrationFileError(Exception):
    """A migration file cannot be loaded or lacks an async `up`/`down` (the message names the file)."""


@dataclass(frozen=True, slots=True)
class MigrationFile:
    name: str
    """The file name, as recorded in `_migrations`."""
    path: Path

    @property
    def timestamp(self) -> int:
        match = FILE_PATTERN.match(self.name)
        return int(match.group(1)) if match else 0

    def load(self) -> tuple[Step, Step | None]:
        """Its `up` and `down` (None when the file defines no `down`: it cannot be reverted)."""
        spec = importlib.util.spec_from_file_location(f"satchel_migration_{self.path.stem}", self.path)
        if spec is None or spec.loader is None:
            raise MigrationFileError("cannot be loaded")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise MigrationFileError(f"cannot be loaded: {type(exc).__name__}: {exc}") from exc
        up = _step(module, "up", self.name)
        if up is None:
            raise MigrationFileError("defines no up(app)")
        return up, _step(module, "down", self.name)


def _step(module: Any, name: str, file: str) -> Step | None:
    fn = getattr(module, name, None)
    if fn is None:
        return None
    if not inspect.iscoroutinefunction(fn):
        raise MigrationFileError(f"{name} must be an async function: async def {name}(app)")
    return fn  # type: ignore[no-any-return]


def discover(folder: Path) -> list[MigrationFile]:
    """The migration files in `folder`, in the order they apply (by file name); none when it is absent."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p.name) for p in folder.iterdir() if p.is_file() and (m := FILE_PATTERN.match(p.name))]
    return [MigrationFile(n, folder / n) for _, n in sorted(found)]


def slug(name: str) -> str:
    """A name usable in a file name: lower case, `[a-z0-9_]`, at most 60 characters."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60]


def new_file_name(folder: Path, name: str, now: float | None = None) -> str:
    """`<unix-ts>_<slug>.py`, its timestamp after every existing file's, so that the new file applies last
    even when several are written in one second (automigrate) or a clock went back."""
    ts = int(time.time() if now is None else now)
    for f in discover(folder):
        ts = max(ts, f.timestamp + 1)
    return f"{ts}_{slug(name) or 'migration'}.py"
