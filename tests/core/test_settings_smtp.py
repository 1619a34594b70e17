"""The `smtp` settings section validated as PocketBase validates it (codes and messages checked
against PocketBase 0.40.6's answers to the same PATCHes)."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.app import App
from satchel.core.errors import ValidationError
from satchel.core.settings import is_host, public_view


async def _codes(app: App, smtp: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        await app.settings.patch({"smtp": smtp})
    assert caught.value.message == "An error occurred while saving the new settings."
    return {k: v["code"] for k, v in caught.value.data["smtp"].items()}


async def test_enabled_needs_host_and_port_and_known_values(app: App) -> None:
    assert await _codes(app, {"enabled": True, "host": "", "port": 0, "authMethod": "x", "localName": "bad host!"}) == {
        "host": "validation_required",
        "port": "validation_required",
        "authMethod": "validation_in_invalid",
        "localName": "validation_is_host",
    }
    assert await _codes(app, {"enabled": True, "host": "bad host", "port": -1}) == {
        "host": "validation_is_host",
        "port": "validation_min_greater_equal_than_required",
    }


async def test_disabled_may_be_blank_and_valid_settings_are_kept(app: App) -> None:
    await app.settings.patch({"smtp": {"enabled": False, "host": "", "port": 0}})
    s = await app.settings.patch(
        {
            "smtp": {
                "enabled": True,
                "host": "smtp.example.com",
                "port": 465,
                "username": "u",
                "password": "p4ss",
                "authMethod": "LOGIN",
                "tls": True,
                "localName": "mail.acme.test",
            }
        }
    )
    assert s["smtp"]["authMethod"] == "LOGIN" and s["smtp"]["password"] == "p4ss"
    assert "password" not in public_view(s)["smtp"]
    # a later edit that leaves the password out keeps it
    s = await app.settings.patch({"smtp": {"port": 587, "tls": False}})
    assert s["smtp"]["password"] == "p4ss"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("smtp.example.com", True),
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("mail_relay.internal.", True),
        ("", False),
        ("bad host", False),
        ("-bad.example.com", False),
        ("a" * 64 + ".com", False),
        ("exa mple.com", False),
    ],
)
def test_is_host(value: str, ok: bool) -> None:
    assert is_host(value) is ok
