"""Provider names to providers: what a collection may configure, and building one from its entry."""

from __future__ import annotations

from satchel.core.auth.oauth2.config import ProviderConfig
from satchel.core.auth.oauth2.http import ProviderHTTP
from satchel.core.auth.oauth2.presets import PRESETS
from satchel.core.auth.oauth2.provider import Provider

KNOWN = frozenset(PRESETS)


def build(config: ProviderConfig, http: ProviderHTTP) -> Provider | None:
    """The provider for `config`, or None for a name Satchel does not know."""
    cls = PRESETS.get(config.name)
    return cls(config, http) if cls is not None else None
