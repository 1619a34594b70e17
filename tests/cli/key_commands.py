"""What the key-command tests (`keys rotate`, `settings rotate-key`, `serve` with sealed secrets) share:
the keys, the data options of the current test pass, and key files for `--encryption-key-file`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from satchel.testing import database_url_for

OLD = "11" * 32
NEW = "22" * 32
OTHER = "33" * 32
KEY_VARIABLES = ("SATCHEL_ENCRYPTION_KEY", "SATCHEL_ENCRYPTION_KEY_FILE", "SATCHEL_ENCRYPTION_KEYS_OLD")


def without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key from the developer's environment: each test says which key a command gets."""
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def where(data: Path) -> list[str]:
    """The command's data options: the directory, and the PostgreSQL schema on that test pass."""
    url = asyncio.run(database_url_for(data))
    return ["--dir", str(data), *(["--db", url] if url else [])]


def key_files(folder: Path) -> dict[str, Path]:
    """OLD, NEW and OTHER written to files named old.key, new.key and other.key."""
    files = {"old": folder / "old.key", "new": folder / "new.key", "other": folder / "other.key"}
    for path, key in zip(files.values(), (OLD, NEW, OTHER), strict=True):
        path.write_text(key)
    return files
