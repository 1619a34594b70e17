"""OAuth2 avatars end to end: a real OpenID provider on loopback signs the user in, and the avatar
URL (set by a request hook to a real image server on loopback) is downloaded into the users
collection's `avatar` file field, or refused and skipped with a warning."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.core.hooks import RecordAuthWithOAuth2Event
from tests.apis.auth_flows import rows, user_record
from tests.apis.test_api_auth_oauth2 import enable, sign_in
from tests.oauth2.avatar_server import PNG, AvatarServer, avatar_server
from tests.oauth2.oidc_server import OIDCProvider, oidc_provider

__all__ = ["avatar_server", "oidc_provider"]  # fixtures, used by name

WARNING = "Failed to retrieve OAuth2 avatar for users.avatar: "


@pytest.fixture
async def oidc(client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider) -> OIDCProvider:
    await enable(client, su_headers, oidc_provider.entry())
    return oidc_provider


class Picture:
    """The provider user's picture URL for the next sign-ins (the test provider's own are unreachable)."""

    def __init__(self, app: App) -> None:
        self.url = ""
        app.hooks.on_record_auth_with_oauth2_request.bind(self._handler)

    async def _handler(self, e: RecordAuthWithOAuth2Event) -> None:
        e.oauth2_user.avatar_url = self.url
        await e.next()


@pytest.fixture
def picture(app: App) -> Picture:
    return Picture(app)


@pytest.fixture
def loopback_allowed(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.auth.oauth2.http, "allow_private_addresses", True)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "satchel.auth.oauth2" and r.levelno == logging.WARNING]


async def users_field(client: httpx2.AsyncClient, su: dict[str, str], **changes: Any) -> None:
    """Change the users collection's `avatar` field options."""
    r = await client.get("/api/collections/users", headers=su)
    fields = [({**f, **changes} if f["name"] == "avatar" else f) for f in r.json()["fields"]]
    r = await client.patch("/api/collections/users", json={"fields": fields}, headers=su)
    assert r.status_code == 200, r.text


async def test_an_avatar_on_a_private_address_is_refused_and_the_account_still_created(
    app: App,
    client: httpx2.AsyncClient,
    oidc: OIDCProvider,
    avatar_server: AvatarServer,
    picture: Picture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    picture.url = avatar_server.url("/img/face.png?token=s3cret")
    with caplog.at_level(logging.WARNING, logger="satchel.auth.oauth2"):
        r = await sign_in(client, "olga")
    assert r.status_code == 200, r.text
    record = r.json()["record"]
    assert record["email"] == "olga@example.com" and record["avatar"] == ""
    assert (await user_record(app, record["id"])).get("avatar") == ""
    assert warnings(caplog) == [WARNING + "127.0.0.1 resolves to a disallowed address"]
    assert avatar_server.seen == []


@pytest.mark.usefixtures("loopback_allowed")
async def test_the_avatar_is_stored_and_served(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider, avatar_server: AvatarServer, picture: Picture
) -> None:
    picture.url = avatar_server.url("/img/face.png?token=s3cret")
    r = await sign_in(client, "pia")
    assert r.status_code == 200, r.text
    record = r.json()["record"]
    assert re.fullmatch(r"face_[a-z0-9]{10}\.png", record["avatar"])
    assert (await user_record(app, record["id"])).get("avatar") == record["avatar"]
    served = await client.get(f"/api/files/users/{record['id']}/{record['avatar']}")
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"

    again = await sign_in(client, "pia")  # only a new account gets the avatar, as in PocketBase
    assert again.status_code == 200 and again.json()["record"]["avatar"] == record["avatar"]
    assert len(avatar_server.seen) == 1


@pytest.mark.usefixtures("loopback_allowed")
async def test_an_avatar_over_the_field_size_is_skipped(
    app: App,
    client: httpx2.AsyncClient,
    su_headers: dict[str, str],
    oidc: OIDCProvider,
    avatar_server: AvatarServer,
    picture: Picture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit = len(PNG) + 100
    await users_field(client, su_headers, maxSize=limit)
    picture.url = avatar_server.url(f"/img/big.png?size={limit + 1}")
    with caplog.at_level(logging.WARNING, logger="satchel.auth.oauth2"):
        r = await sign_in(client, "quinn")
    assert r.status_code == 200, r.text
    assert r.json()["record"]["avatar"] == ""
    assert warnings(caplog) == [
        WARNING + f"http://127.0.0.1:{avatar_server.port}/img/big.png answered more than {limit} bytes"
    ]

    picture.url = avatar_server.url(f"/img/fits.png?size={limit}")
    r = await sign_in(client, "rosa")
    assert r.status_code == 200, r.text
    record = r.json()["record"]
    served = await client.get(f"/api/files/users/{record['id']}/{record['avatar']}")
    assert served.status_code == 200 and len(served.content) == limit


@pytest.mark.usefixtures("loopback_allowed")
async def test_an_avatar_of_a_type_the_field_refuses_fails_the_create_as_pocketbase(
    app: App,
    client: httpx2.AsyncClient,
    su_headers: dict[str, str],
    oidc: OIDCProvider,
    avatar_server: AvatarServer,
    picture: Picture,
) -> None:
    """The download is a normal upload: the field's type check applies (PocketBase's answer)."""
    await users_field(client, su_headers, mimeTypes=["image/jpeg"])
    picture.url = avatar_server.url("/img/face.png")
    r = await sign_in(client, "sam")
    assert r.status_code == 400
    body = r.json()
    assert (
        body["message"] == "Failed to create record."
        and body["data"]["avatar"]["code"] == "validation_invalid_mime_type"
    )
    assert await rows(app, "users") == []


@pytest.mark.usefixtures("loopback_allowed")
async def test_create_data_for_the_avatar_field_skips_the_download(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider, avatar_server: AvatarServer, picture: Picture
) -> None:
    picture.url = avatar_server.url("/img/face.png")
    r = await sign_in(client, "tess", createData={"avatar": ""})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["avatar"] == "" and avatar_server.seen == []


async def test_a_text_field_mapping_gets_the_url(
    client: httpx2.AsyncClient, su_headers: dict[str, str], oidc: OIDCProvider, avatar_server: AvatarServer
) -> None:
    r = await client.get("/api/collections/users", headers=su_headers)
    fields = [*r.json()["fields"], {"name": "picture", "type": "text"}]
    mapped = {**r.json()["oauth2"]["mappedFields"], "avatarURL": "picture"}
    r = await client.patch(
        "/api/collections/users",
        json={"fields": fields, "oauth2": {**r.json()["oauth2"], "mappedFields": mapped}},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    r = await sign_in(client, "uma")  # the provider's own picture claim
    assert r.status_code == 200, r.text
    assert r.json()["record"]["picture"] == "https://img.example.invalid/uma.png"
    assert r.json()["record"]["avatar"] == ""
