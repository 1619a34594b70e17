"""The first-run setup token: a placeholder superuser while no real one exists, gone afterwards."""

from __future__ import annotations

import time

from satchel.core.app import App
from satchel.core.auth.installer import INSTALLER_EMAIL, TOKEN_SECONDS, has_real_superuser, setup_token, setup_url
from satchel.core.auth.superusers import find_superuser, upsert_superuser
from satchel.tools import tokens


async def test_token_while_no_superuser_exists(app: App) -> None:
    assert not await has_real_superuser(app)
    token = await setup_token(app)
    assert token is not None
    placeholder = await find_superuser(app, INSTALLER_EMAIL)
    assert placeholder is not None
    claims = tokens.parse_unverified(token)
    assert claims is not None
    assert claims["id"] == placeholder.id
    assert claims["refreshable"] is False
    assert TOKEN_SECONDS - 5 <= claims["exp"] - time.time() <= TOKEN_SECONDS
    # the placeholder does not count as a real superuser: the link is offered again on the next start
    assert not await has_real_superuser(app)
    again = await setup_token(app)
    assert again is not None
    assert tokens.parse_unverified(again)["id"] == placeholder.id  # type: ignore[index]


async def test_no_token_and_no_leftover_once_a_superuser_exists(app: App) -> None:
    assert await setup_token(app) is not None
    await upsert_superuser(app, "owner@example.com", "1234567890")
    assert await has_real_superuser(app)
    assert await setup_token(app) is None
    assert await find_superuser(app, INSTALLER_EMAIL) is None


def test_setup_url_points_at_the_dashboard_route() -> None:
    assert setup_url("http://127.0.0.1:8090/_/", "abc") == "http://127.0.0.1:8090/_/#/pbinstal/abc"
    assert setup_url("http://h:1/_", "t") == "http://h:1/_/#/pbinstal/t"
