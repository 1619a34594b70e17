"""Whole-database copies for backups, with SQLite's online backup API (blocking: run in a thread).

Snapshot: the source connection opens a read transaction *before* the first backup step and
keeps it to the last. Under WAL that pins one snapshot, so writers carry on while pages are
copied in small steps, and the copy is exactly the database as of that moment. (Without it
every write committed by another connection between two steps would restart the copy from the
first page, and a busy server would keep it restarting.)

Restore: the copy is backed up *into* the live file through an ordinary connection. SQLite
takes the write lock for the whole operation and commits it as one transaction, so every other
connection, in this process or another worker, keeps its handle and sees the old contents or
the new ones, never a mix; nothing is renamed under an open connection.

A restore can be pinned: `pin` runs once the copy holds the live file's write lock and before it
commits, so what it reads from the live file (on its own connection: under WAL it sees the last
commit, and no commit can follow) is final, and what it writes into the copy's source file lands
in the same swap (SQLite restarts a backup whose source another connection changed). That is how
a counter whose numbers already left the database is carried over without a window for a writer
in another process to slip in between.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from satchel.ports.database import CopyProgress, DatabaseError, InvalidCopyError

STEP_PAGES = 1024
"""Pages per backup step (4 MiB at the default page size): the unit of progress reports."""
STEP_SLEEP_S = 0.05
"""Wait before retrying a step that found the database locked."""
LOCK_WAIT_S = 30.0
"""How long a copy may wait, in all, for locks held by other connections before giving up."""


class _Steps:
    """Python's backup progress callback: reports pages and gives up once locks stall too long."""

    def __init__(self, progress: CopyProgress | None, wait: float) -> None:
        self._progress = progress
        self._deadline = time.monotonic() + wait

    def __call__(self, status: int, remaining: int, total: int) -> None:
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            if time.monotonic() > self._deadline:
                raise DatabaseError("the database stayed locked: try again later")
            return
        if self._progress is not None:
            self._progress(total - remaining, total)


def _connect(path: str | Path, busy_ms: int) -> sqlite3.Connection:
    text = str(path)
    conn = sqlite3.connect(text, isolation_level=None, check_same_thread=False, uri=text.startswith("file:"))
    conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    return conn


def snapshot(live: str, dest: Path, progress: CopyProgress | None = None, wait: float = LOCK_WAIT_S) -> None:
    if dest.exists():
        raise DatabaseError("the snapshot destination already exists")
    source = _connect(live, int(wait * 1000))
    try:
        target = sqlite3.connect(dest, check_same_thread=False)
        try:
            source.execute("BEGIN")
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read snapshot starts here
            source.backup(target, pages=STEP_PAGES, progress=_Steps(progress, wait), sleep=STEP_SLEEP_S)
            source.execute("COMMIT")
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"snapshot failed: {exc}") from exc
    finally:
        source.close()


def check_copy(path: Path, tables: Sequence[str]) -> None:
    if not path.is_file():
        raise InvalidCopyError("the database file is missing")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise InvalidCopyError("the database file cannot be opened") from exc
    try:
        problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise InvalidCopyError("the database file is damaged (integrity check failed)")
        names = {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise InvalidCopyError("the file is not a SQLite database or is damaged") from exc
    finally:
        conn.close()
    missing = [t for t in tables if t not in names]
    if missing:
        raise InvalidCopyError(f"the database lacks the system tables ({', '.join(missing)})")


def read_copy(path: Path, sql: str, params: Sequence[object]) -> list[dict[str, object]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except sqlite3.Error as exc:
        raise InvalidCopyError("the database file cannot be read") from exc
    finally:
        conn.close()


def _match_page_size(source: sqlite3.Connection, page_size: int) -> None:
    """Rewrite `source` with the live page size: a WAL database refuses a copy with another."""
    current = int(source.execute("PRAGMA page_size").fetchone()[0])
    if current == page_size:
        return
    source.execute("PRAGMA journal_mode = DELETE")
    source.execute(f"PRAGMA page_size = {int(page_size)}")
    source.execute("VACUUM")


class _Pinned(_Steps):
    """Runs `pin` after the first step: the backup has taken the destination's write lock then."""

    def __init__(self, progress: CopyProgress | None, wait: float, pin: Callable[[], None]) -> None:
        super().__init__(progress, wait)
        self._pin: Callable[[], None] | None = pin

    def __call__(self, status: int, remaining: int, total: int) -> None:
        pin, self._pin = self._pin, None
        if pin is not None:
            if status == sqlite3.SQLITE_DONE:  # committed already: the pin would come too late
                raise DatabaseError("the restore finished before it could be pinned")
            if status != sqlite3.SQLITE_OK:  # no lock yet (busy): pin on a later step
                self._pin = pin
            else:
                pin()
                return  # the copy may start over: its progress is reported from the next step
        super().__call__(status, remaining, total)


def restore(
    live: str,
    source_path: Path,
    progress: CopyProgress | None = None,
    wait: float = LOCK_WAIT_S,
    pin: Callable[[], None] | None = None,
) -> None:
    """Copy `source_path` into `live` as one transaction; `pin` as in the module docstring."""
    source = _connect(source_path, 0)
    try:
        target = _connect(live, int(wait * 1000))
        try:
            _match_page_size(source, int(target.execute("PRAGMA page_size").fetchone()[0]))
            pages, steps = STEP_PAGES, _Steps(progress, wait)
            if pin is not None:
                # the first step must leave a page to copy, or it would commit before the pin ran
                total = int(source.execute("PRAGMA page_count").fetchone()[0])
                if total < 2:
                    raise DatabaseError("restore failed: the copy has no tables")
                pages, steps = min(STEP_PAGES, total - 1), _Pinned(progress, wait, pin)
            source.backup(target, pages=pages, progress=steps, sleep=STEP_SLEEP_S)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"restore failed: {exc}") from exc
    finally:
        source.close()
