"""S3 over https: aiobotocore's verification stays on, and SATCHEL_CA_FILE adds a private CA to it.
The endpoint is a real moto server speaking TLS with the test CA's certificate."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from s3_service import config_for
from tls_services import START_TIMEOUT_S, free_port
from transit_ca import TestCA

from satchel.adapters.blobs.s3 import S3BlobStore
from satchel.ports.blobs import BlobError, one_chunk, read_all


@pytest.fixture(scope="module")
def s3_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("s3-ca"))


@pytest.fixture(scope="module")
def https_endpoint(s3_ca: TestCA) -> Iterator[str]:
    leaf = s3_ca.issue("moto")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port),
         "-c", str(leaf.cert_file), "-k", str(leaf.key_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                with urllib.request.urlopen(
                    f"{endpoint}/moto-api/data.json", context=s3_ca.client_context(), timeout=1
                ):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("moto server (TLS) did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


def _bucket(endpoint: str, ca: TestCA) -> str:
    name = f"satchel-{uuid.uuid4().hex[:20]}"
    request = urllib.request.Request(f"{endpoint}/{name}", method="PUT")
    with urllib.request.urlopen(request, context=ca.client_context(), timeout=10):
        return name


async def _roundtrip(endpoint: str, bucket: str) -> bytes:
    store = S3BlobStore(config_for(endpoint, bucket))
    try:
        await store.write("transit.txt", one_chunk(b"sealed"))
        return await read_all(store, "transit.txt")
    finally:
        await store.close()


async def test_a_private_ca_in_satchel_ca_file_is_trusted(
    https_endpoint: str, s3_ca: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATCHEL_CA_FILE", str(s3_ca.ca_file))
    assert await _roundtrip(https_endpoint, _bucket(https_endpoint, s3_ca)) == b"sealed"


async def test_without_it_the_endpoint_is_refused(https_endpoint: str, s3_ca: TestCA) -> None:
    with pytest.raises(BlobError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await _roundtrip(https_endpoint, _bucket(https_endpoint, s3_ca))


async def test_a_ca_file_for_another_ca_does_not_help(
    https_endpoint: str, s3_ca: TestCA, stranger: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATCHEL_CA_FILE", str(stranger.ca_file))
    with pytest.raises(BlobError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await _roundtrip(https_endpoint, _bucket(https_endpoint, s3_ca))
