"""S3 calls are `s3.request` probes (against moto in server mode, a real S3-compatible endpoint)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from s3_service import config_for, s3_config, s3_endpoint

from satchel.adapters.blobs.s3 import S3BlobStore
from satchel.ports.blobs import BlobNotFoundError, S3Config
from tests.probe_recording import recording

__all__ = ["s3_config", "s3_endpoint"]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_each_s3_call_is_a_probe_with_operation_and_status(s3_config: S3Config) -> None:
    store = S3BlobStore(s3_config)
    try:
        with recording() as rec:
            await store.write("a/b.txt", _chunks(b"hello"), content_type="text/plain")
            await store.stat("a/b.txt")
            with pytest.raises(BlobNotFoundError):
                await store.stat("a/missing.txt")
    finally:
        await store.close()
    calls = [
        (f.attrs["s3.operation"], f.attrs["http.status_code"], f.attrs["s3.bucket"]) for f in rec.named("s3.request")
    ]
    assert calls == [
        ("PutObject", 200, s3_config.bucket),
        ("HeadObject", 200, s3_config.bucket),
        ("HeadObject", 404, s3_config.bucket),
    ]
    assert all(f.end_ns >= f.start_ns for f in rec.named("s3.request"))
    assert not any(s3_config.secret in str(f.attrs) for f in rec.fired)


async def test_an_unreachable_endpoint_is_a_failed_probe(s3_config: S3Config) -> None:
    store = S3BlobStore(config_for("http://127.0.0.1:1", s3_config.bucket))
    try:
        with recording() as rec, pytest.raises(Exception, match=r"(?i)connect"):
            await store.stat("x.txt")
    finally:
        await store.close()
    failed = rec.named("s3.request")
    assert failed and all(f.error is not None and f.attrs["s3.operation"] == "HeadObject" for f in failed)
    assert all("http.status_code" not in f.attrs for f in failed)
