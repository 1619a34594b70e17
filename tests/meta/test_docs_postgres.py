"""docs/postgres.md states what the code does: the URL forms, the hidden column, the pool, what is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from satchel.adapters.db.postgres import NOT_SUPPORTED, POOL_SIZE
from satchel.config import ConfigError, parse_db_url
from satchel.tools.sql.postgres import ROWID
from satchel.tools.sql.postgres_ddl import COLUMN_TYPES

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "postgres.md").read_text()


def test_the_url_forms_it_names_are_accepted() -> None:
    for url in ("sqlite:", "postgres://satchel:PASS@db:5432/satchel", "postgresql://u@h/db"):
        assert parse_db_url(url) == url
    assert "`sqlite:`" in DOC and "`sqlite:PATH`" in DOC and "`postgresql://`" in DOC
    with pytest.raises(ConfigError):
        parse_db_url("mysql://h/db")


def test_storage_and_order_claims() -> None:
    assert f"`{ROWID}`" in DOC
    assert f"pool of {POOL_SIZE} connections" in DOC
    assert COLUMN_TYPES["JSON"] == "jsonb" and "`jsonb`" in DOC
    assert COLUMN_TYPES["NUMERIC"] == "double precision" and "`double precision`" in DOC
    assert 'COLLATE "C"' in COLUMN_TYPES["TEXT"]


def test_backups_are_refused_as_it_says() -> None:
    assert "pg_dump" in NOT_SUPPORTED and "`pg_dump`" in DOC


def test_the_files_it_points_to_exist() -> None:
    for path in re.findall(r"`((?:tests|docs)/[^`]+)`", DOC):
        assert (REPO / path).exists(), path
