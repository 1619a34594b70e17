"""The `oauth2.providers` list of `auth-methods`: a fresh state and PKCE pair per provider.

As PocketBase: `authURL` ends in an empty `redirect_uri=` for the client to append its own,
`authUrl` repeats it (legacy), the PKCE fields are empty strings for a provider without PKCE,
and a provider that cannot be set up (here: OIDC discovery failing) is left out, not an error.
Satchel sends no `logo` artwork (the field is there, empty).
"""

from __future__ import annotations

import logging
from typing import Any

from satchel.core.auth.oauth2 import pkce, registry
from satchel.core.auth.oauth2.config import provider_configs
from satchel.core.auth.oauth2.http import ProviderError, ProviderHTTP
from satchel.core.collections.model import Collection
from satchel.tools.ids import random_string

log = logging.getLogger("satchel.auth.oauth2")

STATE_LENGTH = 30


async def providers_info(collection: Collection, http: ProviderHTTP) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for config in provider_configs(collection):
        provider = registry.build(config, http)
        if provider is None:
            continue
        try:
            await provider.prepare()
        except ProviderError as exc:
            log.warning("OAuth2 provider %s of %s left out of auth-methods: %s", config.name, collection.name, exc)
            continue
        state = random_string(STATE_LENGTH)
        verifier = challenge = method = ""
        if provider.pkce:
            verifier = pkce.new_verifier()
            challenge, method = pkce.challenge(verifier), pkce.METHOD
        nonce = pkce.nonce(verifier) if provider.uses_nonce and verifier else ""
        auth_url = provider.build_auth_url(state, challenge, method, nonce) + "&redirect_uri="
        out.append(
            {
                "name": provider.name,
                "displayName": provider.display_name,
                "logo": "",
                "state": state,
                "authURL": auth_url,
                "authUrl": auth_url,
                "codeVerifier": verifier,
                "codeChallenge": challenge,
                "codeChallengeMethod": method,
            }
        )
    return out
