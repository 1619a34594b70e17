"""docs/files.md states what the code does: headers, default thumbnail, hooks, limits."""

from __future__ import annotations

import re
from pathlib import Path

from satchel.apis.middleware.front import DEFAULT_BATCH_BODY_SIZE
from satchel.apis.rest import files
from satchel.core.app import AppConfig
from satchel.core.files import thumbs
from satchel.core.hooks import Hooks

DOC = (Path(__file__).resolve().parents[2] / "docs" / "files.md").read_text()
FLAT = " ".join(DOC.split())


def test_served_headers_are_the_documented_ones() -> None:
    assert f"`Content-Security-Policy: {files.CONTENT_SECURITY_POLICY}`" in FLAT
    assert f"`Cache-Control: {files.CACHE_CONTROL}`" in FLAT


def test_default_thumbnail_sizes() -> None:
    for size in thumbs.DEFAULT_THUMBS:
        assert f"(plus `{size}`)" in FLAT


def test_documented_hooks_exist() -> None:
    documented = set(re.findall(r"`(on_[a-z_]+)`", DOC))
    assert documented >= {"on_file_download_request", "on_file_token_request"}
    assert documented <= set(Hooks().names())


def test_limits() -> None:
    assert f"default limit ({AppConfig(data_dir=Path()).max_body_size >> 20} MB)" in FLAT
    assert f"(0: {DEFAULT_BATCH_BODY_SIZE >> 20} MB)" in FLAT
