"""OAuth2 sign-in end to end against a real OpenID provider on loopback (oidc-provider).

Each sign-in takes the authorization URL from `auth-methods`, follows it without a browser to a
real code, and spends it on `auth-with-oauth2`; expected answers are PocketBase 0.40.6's.
"""

from __future__ import annotations

import hashlib
import socket
from base64 import urlsafe_b64encode
from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.core.records.model import Record
from tests.apis.auth_flows import rows, user_record
from tests.apis.helpers import create_user, error
from tests.oauth2.oidc_server import REDIRECT_URI, OIDCProvider, authorize, oidc_provider

__all__ = ["oidc_provider"]  # the session fixture, used by name

LOAD = "An error occurred while loading the submitted data."
TOKEN_FAILED = error(400, "Failed to fetch OAuth2 token.")
USER_FAILED = error(400, "Failed to fetch OAuth2 user.")
REQUIRED = {"code": "validation_required", "message": "Cannot be blank."}


async def enable(client: httpx2.AsyncClient, su: dict[str, str], *entries: dict[str, Any], **options: Any) -> None:
    body = {"oauth2": {"enabled": True, "providers": list(entries)}, **options}
    r = await client.patch("/api/collections/users", json=body, headers=su)
    assert r.status_code == 200, r.text


async def provider_info(client: httpx2.AsyncClient, name: str = "oidc") -> dict[str, Any]:
    r = await client.get("/api/collections/users/auth-methods")
    assert r.status_code == 200, r.text
    info: dict[str, Any] = next(p for p in r.json()["oauth2"]["providers"] if p["name"] == name)
    return info


async def code_for(client: httpx2.AsyncClient, hint: str, name: str = "oidc") -> tuple[str, str]:
    """A fresh (code, codeVerifier) for the provider account `hint`."""
    info = await provider_info(client, name)
    query = await authorize(info["authURL"], hint)
    assert query["state"] == info["state"]
    return query["code"], info["codeVerifier"]


async def sign_in(
    client: httpx2.AsyncClient, hint: str, name: str = "oidc", headers: dict[str, str] | None = None, **body: Any
) -> httpx2.Response:
    code, verifier = await code_for(client, hint, name)
    payload = {"provider": name, "code": code, "codeVerifier": verifier, "redirectURL": REDIRECT_URI, **body}
    return await client.post("/api/collections/users/auth-with-oauth2", json=payload, headers=headers)


async def links(app: App, record_id: str | None = None) -> list[Record]:
    return await rows(app, "_externalAuths", record_id)


@pytest.fixture
async def oidc(client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider) -> OIDCProvider:
    await enable(client, su_headers, oidc_provider.entry())
    return oidc_provider


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# ---------------------------------------------------------------------------------- the flow
async def test_a_new_account_is_created_linked_and_verified(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    r = await sign_in(client, "alice")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "record", "meta"}
    record, meta = body["record"], body["meta"]
    assert record["email"] == "alice@example.com" and record["verified"] is True
    assert record["name"] == "Name alice"  # the users collection maps name
    assert meta["isNew"] is True and meta["id"] == "alice" and meta["email"] == "alice@example.com"
    assert meta["name"] == "Name alice" and meta["username"] == "alice"
    assert meta["avatarURL"] == meta["avatarUrl"] == "https://img.example.invalid/alice.png"
    assert meta["accessToken"] and meta["expiry"] and meta["rawUser"]["sub"] == "alice"
    (link,) = await links(app, record["id"])
    assert (link.get("provider"), link.get("providerId"), link.get("collectionRef")) == (
        "oidc",
        "alice",
        (await user_record(app, record["id"])).collection_id,
    )
    r = await client.post("/api/collections/users/auth-refresh", headers={"Authorization": body["token"]})
    assert r.status_code == 200 and r.json()["record"]["id"] == record["id"]

    again = await sign_in(client, "alice")  # a second sign-in finds the same record by its link
    assert again.status_code == 200, again.text
    assert again.json()["record"]["id"] == record["id"] and again.json()["meta"]["isNew"] is False
    assert len(await links(app)) == 1


async def test_an_existing_account_with_the_verified_email_is_linked(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    user = await create_user(client, "carol@example.com")
    r = await sign_in(client, "carol")
    assert r.status_code == 200, r.text
    assert r.json()["record"]["id"] == user["id"] and r.json()["meta"]["isNew"] is False
    assert r.json()["record"]["verified"] is True
    assert [link.get("providerId") for link in await links(app, user["id"])] == ["carol"]
    # it was not verified: whoever registered the address first loses the password (PocketBase's guard)
    r = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": "carol@example.com", "password": "password-123"}
    )
    assert r.status_code == 400


async def test_an_unverified_provider_email_links_nothing(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    """The address is not the provider's to vouch for: no link to the account that has it, and the
    new account gets no email (which the users collection requires, as in PocketBase)."""
    user = await create_user(client, "unverified-dan@example.com")
    r = await sign_in(client, "unverified-dan")
    assert r.status_code == 400
    assert r.json() == error(400, "Failed to create record.", {"email": REQUIRED})
    assert await links(app) == []
    assert [u.id for u in await rows(app, "users")] == [user["id"]]


async def test_a_signed_in_caller_links_the_provider_to_its_own_account(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    user = await create_user(client, "someone-else@example.com")
    r = await client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": "someone-else@example.com", "password": "password-123"},
    )
    r = await sign_in(client, "erin", headers={"Authorization": r.json()["token"]})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["id"] == user["id"]
    assert [link.get("providerId") for link in await links(app, user["id"])] == ["erin"]


async def test_create_data_is_validated_and_nothing_is_left_behind(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    r = await sign_in(client, "frank", createData={"name": "x" * 300})
    assert r.status_code == 400
    body = r.json()
    assert body["message"] == "Failed to create record." and set(body["data"]) == {"name"}
    assert await links(app) == []
    assert await rows(app, "users") == []
    r = await sign_in(client, "frank", createData={"name": "Frank Jr"})
    assert r.status_code == 200 and r.json()["record"]["name"] == "Frank Jr"  # createData beats mapping


async def test_create_data_that_is_not_an_object_cannot_be_loaded(
    client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    r = await client.post(
        "/api/collections/users/auth-with-oauth2", json={"provider": "oidc", "code": "x", "createData": [1]}
    )
    assert r.status_code == 400 and r.json() == error(400, LOAD)


# ---------------------------------------------------------------------------- bad exchanges
async def test_a_wrong_code_verifier_is_refused(app: App, client: httpx2.AsyncClient, oidc: OIDCProvider) -> None:
    code, _ = await code_for(client, "gina")
    r = await client.post(
        "/api/collections/users/auth-with-oauth2",
        json={"provider": "oidc", "code": code, "codeVerifier": "x" * 43, "redirectURL": REDIRECT_URI},
    )
    assert r.status_code == 400 and r.json() == TOKEN_FAILED
    assert await rows(app, "users") == []


async def test_a_code_is_spent_once(client: httpx2.AsyncClient, oidc: OIDCProvider) -> None:
    code, verifier = await code_for(client, "hank")
    body = {"provider": "oidc", "code": code, "codeVerifier": verifier, "redirectURL": REDIRECT_URI}
    first = await client.post("/api/collections/users/auth-with-oauth2", json=body)
    assert first.status_code == 200, first.text
    replay = await client.post("/api/collections/users/auth-with-oauth2", json=body)
    assert replay.status_code == 400 and replay.json() == TOKEN_FAILED


async def test_a_tampered_id_token_is_refused(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider
) -> None:
    await enable(client, su_headers, oidc_provider.entry(tokenURL=oidc_provider.issuer + "/token-tampered"))
    r = await sign_in(client, "ivan")
    assert r.status_code == 400 and r.json() == USER_FAILED
    assert await rows(app, "users") == [] and await links(app) == []


async def test_an_id_token_from_another_issuer_is_refused(
    client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider
) -> None:
    entry = oidc_provider.entry(extra={"issuer": oidc_provider.issuer, "issuers": ["https://other.example"]})
    await enable(client, su_headers, entry)
    r = await sign_in(client, "judy")
    assert r.status_code == 400 and r.json() == USER_FAILED


async def test_the_id_token_alone_signs_in_without_userinfo(
    client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider
) -> None:
    """PocketBase's OIDC without `userInfoURL`: the user is the (signature-checked) id token."""
    async with httpx2.AsyncClient() as http:
        doc = (await http.get(oidc_provider.issuer + "/.well-known/openid-configuration")).json()
    entry = oidc_provider.entry(
        authURL=doc["authorization_endpoint"],
        tokenURL=doc["token_endpoint"],
        extra={"jwksURL": doc["jwks_uri"], "issuers": [oidc_provider.issuer]},
    )
    await enable(client, su_headers, entry)
    r = await sign_in(client, "kim")
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["rawUser"]["aud"] == oidc_provider.client_id  # claims of the id token


async def test_an_unreachable_provider_is_a_400(
    client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider
) -> None:
    down = closed_port_url()
    entry = oidc_provider.entry(authURL=down + "/auth", tokenURL=down + "/token", extra={})
    await enable(client, su_headers, entry)
    r = await client.post(
        "/api/collections/users/auth-with-oauth2",
        json={"provider": "oidc", "code": "c", "codeVerifier": "v", "redirectURL": REDIRECT_URI},
    )
    assert r.status_code == 400 and r.json() == TOKEN_FAILED
    # discovery that cannot be reached leaves the provider out of auth-methods (PocketBase skips
    # providers it cannot set up)
    await enable(client, su_headers, oidc_provider.entry(extra={"issuer": down}))
    r = await client.get("/api/collections/users/auth-methods")
    assert r.status_code == 200 and r.json()["oauth2"]["providers"] == []


# ---------------------------------------------------------------------------- the form
async def test_form_errors_as_pocketbase(client: httpx2.AsyncClient, oidc: OIDCProvider) -> None:
    r = await client.post("/api/collections/users/auth-with-oauth2", json={"provider": "zzz"})
    invalid = {"code": "validation_invalid_provider", "message": "Provider with name zzz is missing or is not enabled."}
    assert r.status_code == 400
    assert r.json() == error(400, LOAD, {"code": REQUIRED, "provider": {**invalid, "params": {"name": "zzz"}}})
    r = await client.post("/api/collections/users/auth-with-oauth2", json={"provider": 1})
    assert r.status_code == 400 and r.json() == error(400, LOAD)


async def test_a_disabled_collection_refuses(client: httpx2.AsyncClient) -> None:
    r = await client.post("/api/collections/users/auth-with-oauth2", json={"provider": "oidc", "code": "x"})
    assert r.status_code == 403
    assert r.json() == error(403, "The collection is not configured to allow OAuth2 authentication.")


async def test_redirect_urls_outside_the_allow_list_are_refused(
    client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider
) -> None:
    await enable(client, su_headers, oidc_provider.entry())
    refused = {
        "redirectURL": {"code": "validation_invalid_redirect_url", "message": "The redirect URL is not allowed."}
    }
    for url in ("https://evil.example/api/oauth2-redirect", "http://satchel.test/elsewhere", "myapp://cb"):
        r = await client.post(
            "/api/collections/users/auth-with-oauth2", json={"provider": "oidc", "code": "x", "redirectURL": url}
        )
        assert r.status_code == 400 and r.json() == error(400, LOAD, refused), url
    # the app URL's origin, and what the provider entry allows, pass the check (and reach the provider)
    entry = oidc_provider.entry(extra={"issuer": oidc_provider.issuer, "redirectURLs": ["myapp://cb"]})
    await enable(client, su_headers, entry, **{})
    r = await client.patch("/api/settings", json={"meta": {"appURL": "https://app.example"}}, headers=su_headers)
    assert r.status_code == 200, r.text
    for url in ("https://app.example/any/path", "myapp://cb"):
        r = await client.post(
            "/api/collections/users/auth-with-oauth2", json={"provider": "oidc", "code": "x", "redirectURL": url}
        )
        assert r.status_code == 400 and r.json() == TOKEN_FAILED, url


# ---------------------------------------------------------------------------- auth-methods
async def test_auth_methods_lists_providers_as_pocketbase(
    client: httpx2.AsyncClient, su_headers: dict[str, str], oidc_provider: OIDCProvider
) -> None:
    await enable(client, su_headers, oidc_provider.entry(), {"name": "github", "clientId": "gh", "clientSecret": "s"})
    r = await client.get("/api/collections/users/auth-methods")
    assert r.status_code == 200
    body = r.json()
    assert "s" not in {p.get("clientSecret") for p in body["oauth2"]["providers"]}
    assert oidc_provider.client_secret not in r.text
    oidc, github = body["oauth2"]["providers"]
    keys = ["name", "displayName", "logo", "state", "authURL", "authUrl", "codeVerifier", "codeChallenge"]
    assert list(oidc) == [*keys, "codeChallengeMethod"]
    assert (oidc["name"], oidc["displayName"], github["displayName"]) == ("oidc", "OIDC", "GitHub")
    assert len(oidc["state"]) == 30 and len(oidc["codeVerifier"]) == 43 and oidc["codeChallengeMethod"] == "S256"
    digest = hashlib.sha256(oidc["codeVerifier"].encode()).digest()
    assert oidc["codeChallenge"] == urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert oidc["authURL"] == oidc["authUrl"] and oidc["authURL"].endswith(f"&state={oidc['state']}&redirect_uri=")
    assert oidc["authURL"].startswith(oidc_provider.issuer + "/auth?client_id=satchel-test&code_challenge=")
    assert github["authURL"] == (
        f"https://github.com/login/oauth/authorize?client_id=gh&code_challenge={github['codeChallenge']}"
        f"&code_challenge_method=S256&response_type=code&scope=read%3Auser+user%3Aemail&state={github['state']}"
        "&redirect_uri="
    )
    assert body["authProviders"] == body["oauth2"]["providers"]
    again = (await client.get("/api/collections/users/auth-methods")).json()["oauth2"]["providers"][0]
    assert again["state"] != oidc["state"] and again["codeVerifier"] != oidc["codeVerifier"]
    r = await client.get("/api/collections/users")
    assert r.status_code in (401, 403) and oidc_provider.client_secret not in r.text


async def test_provider_entries_are_validated_as_pocketbase(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    r = await client.patch(
        "/api/collections/users",
        json={"oauth2": {"enabled": True, "providers": [{"name": "nope", "clientId": "", "authURL": "notaurl"}]}},
        headers=su_headers,
    )
    assert r.status_code == 400
    assert r.json()["data"] == {
        "oauth2": {
            "providers": {
                "0": {
                    "authURL": {"code": "validation_is_url", "message": "Must be a valid URL."},
                    "clientId": REQUIRED,
                    "clientSecret": REQUIRED,
                    "name": {
                        "code": "validation_missing_provider",
                        "message": "Invalid or missing provider with name nope.",
                        "params": {"name": "nope"},
                    },
                }
            }
        }
    }


# ---------------------------------------------------------------------------- MFA
async def test_oauth2_is_one_factor_of_mfa(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "lena@example.com")
    r = await client.patch("/api/collections/users", json={"mfa": {"enabled": True}}, headers=su_headers)
    assert r.status_code == 200, r.text
    first = await sign_in(client, "lena")
    assert first.status_code == 401 and set(first.json()) == {"mfaId"}
    mfa_id = first.json()["mfaId"]
    (row,) = await rows(app, "_mfas", user["id"])
    assert row.get("method") == "oauth2"
    again = await sign_in(client, "lena", mfaId=mfa_id)  # the same method twice is no second factor
    assert again.status_code == 400
    assert again.json() == error(400, "A different authentication method is required.")


async def test_oauth2_completes_a_password_first_factor(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "mona@example.com")
    r = await client.patch(f"/api/collections/users/records/{user['id']}", json={"verified": True}, headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.patch("/api/collections/users", json={"mfa": {"enabled": True}}, headers=su_headers)
    assert r.status_code == 200, r.text
    first = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": "mona@example.com", "password": "password-123"}
    )
    assert first.status_code == 401
    second = await sign_in(client, "mona", mfaId=first.json()["mfaId"])
    assert second.status_code == 200, second.text
    assert second.json()["record"]["id"] == user["id"] and second.json()["meta"]["isNew"] is False
    assert await rows(app, "_mfas", user["id"]) == []  # the session is spent


async def test_the_oauth2_request_hook_sees_the_provider_user_and_may_change_the_create_data(
    app: App, client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    from satchel.core.hooks import RecordAuthWithOAuth2Event

    seen: list[tuple[str, str, bool, bool]] = []

    async def handler(e: RecordAuthWithOAuth2Event) -> None:
        seen.append((e.provider_name, e.oauth2_user.id, e.is_new_record, e.record is None))
        e.create_data = {**e.create_data, "name": "set by a hook"}
        await e.next()

    app.hooks.on_record_auth_with_oauth2_request.bind(handler)
    r = await sign_in(client, "hooked")
    assert r.status_code == 200, r.text
    assert r.json()["record"]["name"] == "set by a hook" and r.json()["meta"]["isNew"] is True
    r = await sign_in(client, "hooked")
    assert r.status_code == 200 and r.json()["meta"]["isNew"] is False
    assert seen == [("oidc", "hooked", True, True), ("oidc", "hooked", False, False)]


async def test_client_secrets_are_never_shown_and_survive_an_edit_without_them(
    client: httpx2.AsyncClient, su_headers: dict[str, str], oidc: OIDCProvider
) -> None:
    """As PocketBase 0.40.6 answers (conformance scenario oauth2_code): no clientSecret, `extra` always there."""
    shown = (await client.get("/api/collections/users", headers=su_headers)).json()["oauth2"]["providers"]
    assert all("clientSecret" not in p and "extra" in p for p in shown)
    # an admin UI sends back what it was shown: the stored secret stays
    r = await client.patch(
        "/api/collections/users", json={"oauth2": {"enabled": True, "providers": shown}}, headers=su_headers
    )
    assert r.status_code == 200, r.text
    assert "clientSecret" not in r.json()["oauth2"]["providers"][0]
    r = await sign_in(client, "kept")
    assert r.status_code == 200, r.text


async def test_the_id_token_must_carry_the_nonce_bound_to_the_code_verifier(
    client: httpx2.AsyncClient, oidc: OIDCProvider
) -> None:
    """auth-methods sends nonce = f(codeVerifier); an id token minted for another nonce (or none) is refused."""
    import re

    info = await provider_info(client)
    assert re.search(r"[?&]nonce=[A-Za-z0-9_-]{43}(&|$)", info["authURL"])
    for forged in ("", "nonce=someone-elses-nonce&"):
        auth_url = re.sub(r"nonce=[A-Za-z0-9_-]+&", forged, info["authURL"])
        query = await authorize(auth_url, "noncey")
        payload = {"provider": "oidc", "code": query["code"], "codeVerifier": info["codeVerifier"], "redirectURL": REDIRECT_URI}
        r = await client.post("/api/collections/users/auth-with-oauth2", json=payload)
        assert (r.status_code, r.json()) == (400, USER_FAILED), forged
    r = await sign_in(client, "noncey")  # the untouched URL signs in
    assert r.status_code == 200, r.text
