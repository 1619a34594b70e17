"""`satchel serve` prints a one-time dashboard link while no superuser exists (PocketBase's installer)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from satchel.cli.main import main
from satchel.tools import tokens

LINK = re.compile(r"http://127\.0\.0\.1:8123/_/#/pbinstal/(\S+)")


def test_link_until_the_first_superuser_exists(tmp_path: Path, isolated_env: None, fake_granian: list[Any]) -> None:
    serve = ["serve", "--dir", str(tmp_path), "--http", "0.0.0.0:8123"]
    first = CliRunner().invoke(main, serve)
    assert first.exit_code == 0, first.output
    found = LINK.search(first.output)
    assert found, first.output
    claims = tokens.parse_unverified(found.group(1))
    assert claims is not None and claims["type"] == "auth" and claims["refreshable"] is False

    r = CliRunner().invoke(main, ["superuser", "upsert", "owner@example.com", "1234567890", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    second = CliRunner().invoke(main, serve)
    assert second.exit_code == 0, second.output
    assert "pbinstal" not in second.output
    assert len(fake_granian) == 2
