"""`sslmode=verify-full` in the --db URL reaches asyncpg, against a throwaway cluster that only
accepts TLS (pg_hba has `hostssl` lines only), started by the test with a certificate from its CA."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tls_services import postgres_tls
from transit_ca import TestCA

from satchel.adapters.db.postgres import PostgresDatabase
from satchel.ports.database import DatabaseError


@pytest.fixture(scope="module")
def pg_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("pg-ca"))


@pytest.fixture(scope="module")
def pg_port(pg_ca: TestCA) -> Iterator[int]:
    with postgres_tls(pg_ca.issue("pg", ("localhost", "127.0.0.1"))) as port:  # not ::1
        yield port


async def _ssl_in_use(url: str) -> bool:
    """Whether this session is encrypted, as the server sees it (pg_stat_ssl)."""
    db = PostgresDatabase(url, query_timeout=10)
    try:
        pool = await db.pool()
        return bool(await pool.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
    finally:
        await db.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_verify_full_with_sslrootcert_in_the_url(pg_port: int, pg_ca: TestCA, host: str) -> None:
    url = f"postgres://postgres@{host}:{pg_port}/postgres?sslmode=verify-full&sslrootcert={pg_ca.ca_file}"
    assert await _ssl_in_use(url)


async def test_verify_full_with_satchel_ca_file(pg_port: int, pg_ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_CA_FILE", str(pg_ca.ca_file))
    monkeypatch.setenv("HOME", "/nonexistent")  # no ~/.postgresql/root.crt to fall back on
    assert await _ssl_in_use(f"postgres://postgres@127.0.0.1:{pg_port}/postgres?sslmode=verify-full")


async def test_an_unknown_ca_is_refused(pg_port: int, stranger: TestCA) -> None:
    url = f"postgres://postgres@127.0.0.1:{pg_port}/postgres?sslmode=verify-full&sslrootcert={stranger.ca_file}"
    with pytest.raises(DatabaseError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await _ssl_in_use(url)


async def test_verify_full_checks_the_host_name(pg_port: int, pg_ca: TestCA) -> None:
    # ::1 reaches the same server but is not among the certificate's names
    url = f"postgres://postgres@[::1]:{pg_port}/postgres?sslmode=verify-full&sslrootcert={pg_ca.ca_file}"
    with pytest.raises(DatabaseError, match=r"IP address mismatch|[Hh]ostname mismatch|doesn.t match"):
        await _ssl_in_use(url)


async def test_plain_connections_are_refused_by_this_server(pg_port: int) -> None:
    # the control: the server really only speaks TLS, so the passes above used it
    with pytest.raises(DatabaseError, match=r"no pg_hba.conf entry|SSL off|rejected"):
        await _ssl_in_use(f"postgres://postgres@127.0.0.1:{pg_port}/postgres?sslmode=disable")
