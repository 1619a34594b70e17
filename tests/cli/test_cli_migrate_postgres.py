"""`satchel migrate-data` SQLite -> PostgreSQL and back, each copy then served by Satchel.

Needs a PostgreSQL server (`SATCHEL_TEST_POSTGRES_URL`, see `satchel.testing.postgres`): skipped
locally without one, a failure under CI=true. Each run uses schemas of its own, dropped after.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from tests.core.migrate.migrate_source import POSTS, assert_same_instance, populate
from tests.core.migrate.pg_schemas import postgres_urls


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with postgres_urls(tmp_path, 1) as urls:
        yield urls[0]


def test_sqlite_to_postgres_and_back(pg_url: str, tmp_path: Path) -> None:
    url = pg_url
    runner = CliRunner()
    src, files = tmp_path / "src", tmp_path / "pg-files"
    before = asyncio.run(populate(src))
    r = runner.invoke(main, ["migrate-data", "--from", str(src), "--to", url, "--dir", str(files), "--batch-size", "5"])
    assert r.exit_code == 0, r.output
    assert re.search(rf"^posts +{POSTS} +{POSTS}  same$", r.output, re.MULTILINE), r.output
    assert "MISMATCH" not in r.output and "and 1 file(s) into" in r.output
    asyncio.run(assert_same_instance(files, before, db_url=url))

    again = runner.invoke(main, ["migrate-data", "--from", str(src), "--to", url, "--dir", str(files)])
    assert again.exit_code == 1 and f"{POSTS} record(s) in posts" in again.output
    assert (
        runner.invoke(main, ["migrate-data", "--from", str(src), "--to", url, "--dir", str(files), "--force"]).exit_code
        == 0
    )

    back = tmp_path / "back"
    r = runner.invoke(main, ["migrate-data", "--from", url, "--to", str(back)])
    assert r.exit_code == 0, r.output
    assert (back / "data.db").is_file()
    (back / "storage").mkdir(exist_ok=True)
    for path in (files / "storage").rglob("*"):  # files travel with a directory, not with a URL
        if path.is_file():
            dest = back / "storage" / path.relative_to(files / "storage")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    asyncio.run(assert_same_instance(back, before))


pytestmark = pytest.mark.timeout(240)
