"""`Upload` values and content sniffing: what core sees of a client's file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from satchel.core.files.sniff import SNIFF_LENGTH, sniff
from satchel.core.files.uploads import Upload, read_head

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40


def counting_source(data: bytes, chunk: int, opened: list[int]) -> Callable[[], AsyncIterator[bytes]]:
    async def source() -> AsyncIterator[bytes]:
        opened.append(1)
        for i in range(0, len(data), chunk):
            yield data[i : i + chunk]

    return source


async def test_open_sniffs_the_head_and_names_the_file() -> None:
    opened: list[int] = []
    upload = await Upload.open("dir/Holiday Photo", counting_source(PNG, 7, opened), size=len(PNG))
    assert upload.filename == "Holiday Photo"  # only the last path segment, as Go hands it over
    assert upload.name.startswith("holiday_photo_") and upload.name.endswith(".png")
    assert upload.sniffed.mime == "image/png" and upload.size == len(PNG)
    # the content can be read again, whole, from the start
    assert b"".join([c async for c in upload.chunks()]) == PNG
    assert b"".join([c async for c in upload.chunks()]) == PNG
    assert len(opened) == 3


async def test_read_head_stops_early_and_reports_completeness() -> None:
    big = b"a" * (SNIFF_LENGTH * 3)
    head, complete = await read_head(counting_source(big, 1000, []))
    assert head == b"a" * SNIFF_LENGTH and not complete
    head, complete = await read_head(counting_source(b"abc", 1, []))
    assert head == b"abc" and complete


async def test_unknown_size_is_learnt_from_a_small_content_only() -> None:
    small = await Upload.open("s.txt", counting_source(b"tiny", 2, []))
    assert small.size == 4
    large = await Upload.open("l.txt", counting_source(b"x" * (SNIFF_LENGTH + 1), 4096, []))
    assert large.size is None  # the store enforces the limit while streaming


async def test_from_bytes_and_renamed() -> None:
    upload = await Upload.from_bytes(b"hello", "greeting.txt")
    assert upload.size == 5 and upload.sniffed.mime == "text/plain; charset=utf-8"
    again = await upload.renamed()
    assert again.filename == upload.name
    assert again.name.startswith(upload.name.removesuffix(".txt") + "_") and again.name.endswith(".txt")


@pytest.mark.parametrize(
    ("head", "mime", "extension"),
    [
        (PNG, "image/png", ".png"),
        (b"GIF89a" + b"\0" * 20, "image/gif", ".gif"),
        (b"%PDF-1.4\n%...", "application/pdf", ".pdf"),
        (b"hello world\n", "text/plain; charset=utf-8", ".txt"),
        ("héllo".encode("latin-1"), "text/plain; charset=iso-8859-1", ".txt"),
        (b"", "text/plain; charset=utf-8", ".txt"),
        (b'{"a": 1}', "application/json", ".json"),
        (b"[1,2]", "application/json", ".json"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "image/svg+xml", ".svg"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "text/html; charset=utf-8", ".html"),
        (b'<?xml version="1.0"?><a/>', "text/xml; charset=utf-8", ".xml"),
        (b"a,b\n1,2\n", "text/csv", ".csv"),
        (bytes(range(256)), "application/octet-stream", ""),
    ],
)
def test_sniff(head: bytes, mime: str, extension: str) -> None:
    found = sniff(head, complete=True)
    assert (found.mime, found.extension) == (mime, extension)


def test_a_json_document_cut_by_the_sample_is_still_json() -> None:
    assert sniff(b'{"items": [1, 2, 3', complete=False).mime == "application/json"
    assert sniff(b'{"items": [1, 2, 3', complete=True).mime.startswith("text/plain")


def test_allowed_types_compare_without_parameters_and_with_aliases() -> None:
    text = sniff(b"plain", complete=True)
    assert text.is_one_of(["text/plain"]) and text.is_one_of(["TEXT/PLAIN; charset=utf-8"])
    assert not text.is_one_of(["application/json", "image/png"])
    xml = sniff(b'<?xml version="1.0"?><a/>', complete=True)
    assert xml.is_one_of(["application/xml"])
