"""Shared by the backup tests: what "the data" is (to compare before and after) and archive builders."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path

from satchel.core.app import App
from satchel.ports.blobs import one_chunk

BOOKKEEPING = ("""INSERT INTO "_params" VALUES('schemaVersion'""", """INSERT INTO "_params" VALUES('backupRestore'""")
"""Rows a restore itself writes (the new schema version, the restore marker)."""


def data_state(app: App, *, restored: bool = False) -> tuple[list[str], dict[str, bytes]]:
    """Every row of the database (as SQL) and every stored file: equal states mean untouched data.

    `restored` leaves out the rows a restore writes itself, to compare with the state backed up.
    """
    conn = sqlite3.connect(app.config.data_dir / "data.db")
    try:
        dump = [line for line in conn.iterdump() if not (restored and line.startswith(BOOKKEEPING))]
    finally:
        conn.close()
    storage = app.config.data_dir / "storage"
    files = {str(p.relative_to(storage)): p.read_bytes() for p in sorted(storage.rglob("*")) if p.is_file()}
    return dump, files


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buffer.getvalue()


def sqlite_bytes(tmp: Path, *statements: str) -> bytes:
    path = tmp / "foreign.db"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    for st in statements:
        conn.execute(st)
    conn.commit()
    conn.close()
    return path.read_bytes()


async def put_backup(app: App, name: str, data: bytes) -> None:
    await app.storages.backups().write(name, one_chunk(data))


async def read_backup(app: App, name: str) -> bytes:
    return b"".join([c async for c in app.storages.backups().read(name)])
