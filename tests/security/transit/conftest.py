"""Fixtures for the in-transit tests: a fresh CA, a loopback certificate it signs, and a stranger CA."""

from __future__ import annotations

from pathlib import Path

import pytest
from transit_ca import Leaf, TestCA

from satchel.tools.tls_trust import CA_FILE_ENV


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@pytest.fixture
def leaf(ca: TestCA) -> Leaf:
    """A server certificate for localhost, 127.0.0.1 and ::1."""
    return ca.issue("server")


@pytest.fixture
def stranger(tmp_path: Path) -> TestCA:
    """A CA nobody was told to trust."""
    return TestCA(tmp_path / "stranger", name="Unknown CA")


@pytest.fixture
def trust_ca(ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SATCHEL_CA_FILE names the test CA, as an operator would for a private CA."""
    monkeypatch.setenv(CA_FILE_ENV, str(ca.ca_file))
    return ca.ca_file


@pytest.fixture(autouse=True)
def no_inherited_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets is trusted: no SATCHEL_CA_FILE, SSL_CERT_FILE or PGSSLROOTCERT from outside."""
    for name in (CA_FILE_ENV, "SSL_CERT_FILE", "SSL_CERT_DIR", "PGSSLROOTCERT"):
        monkeypatch.delenv(name, raising=False)
