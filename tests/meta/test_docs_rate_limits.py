"""docs/rate-limits.md states what the code does: every route tag, the login limits, the defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path

from satchel.apis.middleware.ratelimit import _COLLECTION_ROUTES
from satchel.core.auth.login_guard import IDENTITY_LIMIT, IP_LIMIT
from satchel.core.settings import default_settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rate-limits.md").read_text()


def test_every_route_tag_is_documented_with_its_route() -> None:
    for (method, suffix), tags in _COLLECTION_ROUTES.items():
        route = suffix.removeprefix("records").strip("/") or "records"
        rows = [line for line in DOC.splitlines() if line.startswith(f"| `{method} ") and route.split("/")[0] in line]
        assert rows, (method, suffix)
        assert any(all(f"`{t}`" in row for t in tags) for row in rows), (method, suffix, tags)


def test_login_limits_are_the_documented_ones() -> None:
    for limit in (IDENTITY_LIMIT, IP_LIMIT):
        assert limit.window == 15 * 60
        assert re.search(rf"\| {limit.failures} failures \| 15 minutes", DOC), limit


def test_documented_default_rules_are_the_defaults() -> None:
    example = json.loads(re.search(r"```json\n(.*?)```", DOC, re.DOTALL).group(1))  # type: ignore[union-attr]
    assert example["rateLimits"]["rules"] == default_settings()["rateLimits"]["rules"]
