"""The presets' endpoint tables and user mapping, against user payloads shaped as each provider
documents them (no network): which fields map where, and when an email counts as verified."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from satchel.core.auth.oauth2 import registry
from satchel.core.auth.oauth2.config import ProviderConfig
from satchel.core.auth.oauth2.http import ProviderHTTP
from satchel.core.auth.oauth2.presets import PRESETS, primary_verified_email
from satchel.core.auth.oauth2.provider import AuthUser, Provider


def build(name: str, **config: Any) -> Provider:
    provider = registry.build(ProviderConfig(name=name, client_id="cid", client_secret="sec", **config), ProviderHTTP())
    assert provider is not None
    return provider


@pytest.mark.parametrize(
    ("name", "display", "auth_url", "token_url", "user_info_url", "scope"),
    [
        (
            "google",
            "Google",
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            "https://www.googleapis.com/oauth2/v3/userinfo",
            "https://www.googleapis.com/auth/userinfo.profile https://www.googleapis.com/auth/userinfo.email",
        ),
        (
            "github",
            "GitHub",
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
            "read:user user:email",
        ),
        (
            "gitlab",
            "GitLab",
            "https://gitlab.com/oauth/authorize",
            "https://gitlab.com/oauth/token",
            "https://gitlab.com/api/v4/user",
            "read_user",
        ),
        (
            "microsoft",
            "Microsoft",
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            "https://graph.microsoft.com/v1.0/me",
            "User.Read",
        ),
        (
            "apple",
            "Apple",
            "https://appleid.apple.com/auth/authorize",
            "https://appleid.apple.com/auth/token",
            "",
            "name email",
        ),
        (
            "discord",
            "Discord",
            "https://discord.com/api/oauth2/authorize",
            "https://discord.com/api/oauth2/token",
            "https://discord.com/api/users/@me",
            "identify email",
        ),
        ("oidc", "OIDC", "", "", "", "openid email profile"),
    ],
)
def test_endpoint_tables(
    name: str, display: str, auth_url: str, token_url: str, user_info_url: str, scope: str
) -> None:
    p = build(name)
    assert (p.display_name, p.auth_url, p.token_url, p.user_info_url) == (display, auth_url, token_url, user_info_url)
    assert " ".join(p.scopes) == scope and p.pkce is True


def test_the_auth_url_has_go_oauth2s_sorted_parameters_and_apples_form_post() -> None:
    url = build("apple").build_auth_url("st", "ch", "S256")
    assert url == (
        "https://appleid.apple.com/auth/authorize?client_id=cid&code_challenge=ch&code_challenge_method=S256"
        "&response_mode=form_post&response_type=code&scope=name+email&state=st"
    )
    query = parse_qs(urlsplit(build("oidc", auth_url="https://idp.example/auth?tenant=1").build_auth_url("s")).query)
    assert query["tenant"] == ["1"] and "code_challenge" not in query  # no PKCE pair given, none sent


def test_configured_values_replace_the_presets() -> None:
    p = build("gitlab", auth_url="https://git.example/oauth/authorize", display_name="Our GitLab", pkce=False)
    assert (p.auth_url, p.token_url, p.display_name, p.pkce) == (
        "https://git.example/oauth/authorize",
        "https://gitlab.com/oauth/token",
        "Our GitLab",
        False,
    )


def mapped(name: str, raw: dict[str, Any]) -> AuthUser:
    return build(name).map_user(raw)


def fields(user: AuthUser) -> tuple[str, str, str, str, str]:
    return user.id, user.name, user.username, user.email, user.avatar_url


def test_google() -> None:
    raw = {"sub": "1103", "name": "Ann Lee", "picture": "https://lh3/p.jpg", "email": "ann@gmail.com"}
    assert fields(mapped("google", {**raw, "email_verified": True})) == (
        "1103",
        "Ann Lee",
        "",
        "ann@gmail.com",
        "https://lh3/p.jpg",
    )
    assert mapped("google", {**raw, "email_verified": False}).email == ""


def test_github_user_and_emails() -> None:
    raw = {"id": 583231, "login": "octocat", "name": "The Octocat", "avatar_url": "https://a/u/583231", "email": "x"}
    assert fields(mapped("github", raw)) == ("583231", "The Octocat", "octocat", "", "https://a/u/583231")
    emails = [
        {"email": "old@example.com", "verified": True, "primary": False},
        {"email": "octo@example.com", "verified": True, "primary": True},
    ]
    assert primary_verified_email(emails) == "octo@example.com"
    assert primary_verified_email([{"email": "p@example.com", "verified": False, "primary": True}]) == ""
    assert primary_verified_email({"message": "Not Found"}) == ""


def test_gitlab_email_only_when_confirmed() -> None:
    raw = {"id": 1, "username": "jdoe", "name": "J Doe", "email": "j@x.io", "avatar_url": "https://g/a.png"}
    assert fields(mapped("gitlab", {**raw, "confirmed_at": "2012-05-23T09:05:22Z"})) == (
        "1",
        "J Doe",
        "jdoe",
        "j@x.io",
        "https://g/a.png",
    )
    assert mapped("gitlab", {**raw, "confirmed_at": None}).email == ""


def test_microsoft_graph_me() -> None:
    raw = {"id": "87d349ed", "displayName": "Megan Bowen", "mail": "MeganB@contoso.com", "userPrincipalName": "m@c"}
    assert fields(mapped("microsoft", raw)) == ("87d349ed", "Megan Bowen", "", "MeganB@contoso.com", "")


def test_apple_id_token_claims_with_string_or_bool_verification() -> None:
    raw = {"sub": "001.abc", "email": "x@privaterelay.appleid.com", "iss": "https://appleid.apple.com"}
    assert mapped("apple", {**raw, "email_verified": "true"}).email == "x@privaterelay.appleid.com"
    assert mapped("apple", {**raw, "email_verified": True}).id == "001.abc"
    assert mapped("apple", {**raw, "email_verified": "false"}).email == ""


def test_discord_names_and_avatar() -> None:
    raw = {"id": "80351", "username": "nelly", "discriminator": "1337", "avatar": "8342", "email": "n@d.com"}
    user = mapped("discord", {**raw, "global_name": None, "verified": True})
    assert fields(user) == (
        "80351",
        "nelly#1337",
        "nelly",
        "n@d.com",
        "https://cdn.discordapp.com/avatars/80351/8342.png",
    )
    user = mapped("discord", {**raw, "global_name": "Nelly", "discriminator": "0", "avatar": None, "verified": False})
    assert (user.name, user.email, user.avatar_url) == ("Nelly", "", "")


def test_oidc_standard_claims() -> None:
    raw = {"sub": "u1", "name": "U", "preferred_username": "u", "picture": "https://p", "email": "u@x.io"}
    assert fields(mapped("oidc", {**raw, "email_verified": "true"})) == ("u1", "U", "u", "u@x.io", "https://p")
    assert mapped("oidc", raw).email == ""


def test_every_preset_is_registered_and_unknown_names_are_not() -> None:
    assert set(registry.KNOWN) == set(PRESETS) >= {"google", "github", "gitlab", "microsoft", "apple", "discord"}
    assert registry.build(ProviderConfig(name="myspace"), ProviderHTTP()) is None


def test_meta_has_pocketbases_keys() -> None:
    user = AuthUser(id="1", avatar_url="https://a")
    assert user.meta(True) == {
        "expiry": "",
        "rawUser": {},
        "id": "1",
        "name": "",
        "username": "",
        "avatarURL": "https://a",
        "accessToken": "",
        "refreshToken": "",
        "email": "",
        "avatarUrl": "https://a",
        "isNew": True,
    }
