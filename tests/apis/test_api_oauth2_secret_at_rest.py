"""An OAuth2 provider's client secret sealed in the collection's options still signs users in
(the token exchange needs it in clear), after a restart too, and never leaves the server."""

from __future__ import annotations

from pathlib import Path

from satchel.core.collections.store import COLLECTIONS_TABLE
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.sql import ir
from tests.apis.test_api_auth_oauth2 import enable, sign_in
from tests.oauth2.oidc_server import OIDCProvider, oidc_provider

__all__ = ["oidc_provider"]  # the fixture

KEY = b"0123456789abcdef0123456789abcdef"


async def test_a_sealed_client_secret_signs_in_before_and_after_a_restart(
    tmp_path: Path, oidc_provider: OIDCProvider
) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data, encryption_key=KEY) as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        await enable(client, su, oidc_provider.entry())
        options = await app.db.executor().fetch_value(
            ir.Select((ir.col("options"),), ir.Table(COLLECTIONS_TABLE), where=ir.eq(ir.col("name"), ir.Param("users")))
        )
        assert oidc_provider.client_secret not in str(options) and "$encrypted" in str(options)
        r = await client.get("/api/collections/users", headers=su)
        assert r.status_code == 200 and oidc_provider.client_secret not in r.text and "$encrypted" not in r.text
        r = await sign_in(client, "alice")
        assert r.status_code == 200, r.text
        # an update sent back without the secret (as the admin UI does) keeps it
        providers = (await client.get("/api/collections/users", headers=su)).json()["oauth2"]["providers"]
        r = await client.patch("/api/collections/users", json={"oauth2": {"providers": providers}}, headers=su)
        assert r.status_code == 200, r.text
    async with running_app(data, encryption_key=KEY) as app, client_for(app) as client:
        r = await sign_in(client, "bob")
        assert r.status_code == 200, r.text
