"""Runtime settings: PocketBase's `/api/settings` document, stored in the database.

Boot configuration (where the data lives, which port) is fixed at start; these settings are
edited while running, so they are validated section by section and swapped atomically.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from satchel.core.errors import ValidationError
from satchel.core.params import bump_version, get_param, put_param
from satchel.core.ratelimit import section as rate_limits
from satchel.core.secrets_at_rest import SETTINGS_SECRET_PATHS, Secrets
from satchel.core.settings_validate import is_host, validate
from satchel.ports.database import Database
from satchel.tools.ids import random_string
from satchel.tools.jsonutil import JSONDecodeError, dumps, loads

if TYPE_CHECKING:
    from satchel.core.schema_events import SchemaChanges

SETTINGS_KEY = "settings"
__all__ = ["SECRET_PATHS", "SETTINGS_KEY", "SettingsStore", "default_settings", "is_host", "public_view"]

# Keys never sent back to clients (PocketBase omits them from the settings JSON), sealed at rest.
SECRET_PATHS = SETTINGS_SECRET_PATHS


def default_settings() -> dict[str, Any]:
    s3 = {"enabled": False, "bucket": "", "region": "", "endpoint": "", "accessKey": "", "forcePathStyle": False}
    return {
        "meta": {
            "appName": "Acme",
            "appURL": "http://localhost:8090",
            "senderName": "Support",
            "senderAddress": "support@example.com",
            "hideControls": False,
            "accentColor": "#1055c9",
        },
        "logs": {"maxDays": 5, "minLevel": 0, "logIP": True, "logAuthId": False, "maxDataSize": 0},
        "smtp": {
            "enabled": False,
            "port": 587,
            "host": "smtp.example.com",
            "username": "",
            "password": "",
            "authMethod": "",
            "tls": False,
            "localName": "",
        },
        "backups": {"cron": "", "cronMaxKeep": 3, "s3": {**s3, "secret": ""}},
        "s3": {**s3, "secret": ""},
        "batch": {"enabled": False, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
        "rateLimits": {
            "rules": [
                {"label": "*:auth", "audience": "", "duration": 3, "maxRequests": 2},
                {"label": "*:create", "audience": "", "duration": 5, "maxRequests": 20},
                {"label": "/api/batch", "audience": "", "duration": 1, "maxRequests": 3},
                {"label": "/api/", "audience": "", "duration": 10, "maxRequests": 300},
            ],
            "excludedIPs": [],
            "enabled": False,
        },
        "trustedProxy": {"headers": [], "useLeftmostIP": False},
        "superuserIPs": [],
    }


GO_INT64 = (-(1 << 63), (1 << 63) - 1)


def _typed(key: str, value: Any, default: Any, stored: bool = False) -> Any:
    """`value` when its JSON type matches the default's (ints stay ints); TypeError otherwise.

    `null` is the zero value of the default's type, as Go decodes it into PocketBase's settings
    struct (an empty list, "", 0 or false; validation then judges it like any other value).
    `stored`: read from the database, where versions before the int check left floats (`1.5`).
    """
    if value is None:
        return type(default)()
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
        raise TypeError(key)
    if isinstance(default, int):
        if stored and isinstance(value, float) and GO_INT64[0] <= value <= GO_INT64[1]:
            return int(value)  # what Go would have kept of it; refusing it would stop the start
        # Go's int64: a number written with a fraction or an exponent (a float here) or past 64 bits
        # fails the decoding, as it does in PocketBase; a 65-bit value could not even be stored
        if not isinstance(value, int) or not GO_INT64[0] <= value <= GO_INT64[1]:
            raise TypeError(key)
        return value
    for kind in (str, list):
        if isinstance(default, kind):
            if not isinstance(value, kind):
                raise TypeError(key)
            return copy.deepcopy(value)
    raise TypeError(key)


def _zero(defaults: dict[str, Any]) -> dict[str, Any]:
    return {key: _zero(value) if isinstance(value, dict) else type(value)() for key, value in defaults.items()}


def _merge(
    base: dict[str, Any], patch: dict[str, Any], defaults: dict[str, Any], stored: bool = False
) -> dict[str, Any]:
    """Merge known keys only; a value's JSON type must match the default's."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if key not in defaults:
            continue
        default = defaults[key]
        if isinstance(default, dict) and value is None:
            out[key] = _zero(default)  # PocketBase: a `null` section is that section's zero value
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise TypeError(key)
            out[key] = _merge(base.get(key, {}), value, default, stored)
        else:
            out[key] = _typed(key, value, default, stored)
    return out


def public_view(s: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(s)
    for path in SECRET_PATHS:
        node = out
        for k in path[:-1]:
            node = node.get(k, {})
        node.pop(path[-1], None)
    return out


SECRET_KEY = "appSecret"  # noqa: S105 - the row id of the secret, not the secret


async def load_or_create_secret(db: Database) -> str:
    """The app-wide token secret, created on first start and kept across restarts."""
    value = await get_param(db.executor(), SECRET_KEY)
    if isinstance(value, str) and value:
        return value
    secret = random_string(50)
    async with db.transaction() as tx:
        await put_param(tx, SECRET_KEY, secret)
    return secret


class SettingsStore:
    """Holds the current settings; `patch` validates and persists a partial update."""

    def __init__(self, db: Database, schema: SchemaChanges | None = None, secrets: Secrets | None = None) -> None:
        self._db = db
        self._schema = schema
        """Makes a change start from the database's settings and tells the other processes of it."""
        self.secrets = secrets or Secrets()
        """Seals the secret values on save and opens them on load (no key: stored in clear)."""
        self.current: dict[str, Any] = default_settings()
        self.on_loaded: Callable[[], Awaitable[None]] | None = None
        """Called whenever `current` was replaced (the App fires `on_settings_reload` from it)."""

    async def load(self) -> None:
        """Read the stored settings; raises SecretsKeyError (changing nothing) when a sealed secret
        does not open with the configured key."""
        raw = await get_param(self._db.executor(), SETTINGS_KEY)
        if raw is not None:
            try:
                stored = loads(raw)
            except JSONDecodeError:  # not JSON: PocketBase's whole-document encryption, or damage
                stored = self.secrets.open_pocketbase_settings(raw)
            if isinstance(stored, str):  # the same, stored as a JSON string
                stored = self.secrets.open_pocketbase_settings(stored)
            if isinstance(stored, dict):
                self.current = _merge(default_settings(), self.secrets.open_settings(stored), default_settings(), True)
        await self._loaded()

    async def _loaded(self) -> None:
        if self.on_loaded is not None:
            await self.on_loaded()

    async def patch(self, data: dict[str, Any]) -> dict[str, Any]:
        if self._schema is None:
            return await self._patch(data)
        return await self._schema.run(lambda: self._patch(data))

    async def _patch(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            new = _merge(self.current, rate_limits.load_patch(data), default_settings())
            _keep_secrets(new, self.current, data)
            _check_string_lists(new)
        except TypeError as exc:
            raise ValidationError("An error occurred while loading the submitted data.", {}) from exc
        errors = validate(new)
        if errors:
            raise ValidationError("An error occurred while saving the new settings.", errors)
        await self._save(new)
        self.current = new
        await self._loaded()
        return new

    async def _save(self, s: dict[str, Any]) -> None:
        async with self._db.transaction() as tx:
            if self._schema is None:
                await bump_version(tx)
            else:  # announced by the claim once committed
                await self._schema.claim(tx)
            await put_param(tx, SETTINGS_KEY, dumps(self.secrets.seal_settings(s)).decode())


STRING_LISTS = (("superuserIPs",), ("trustedProxy", "headers"), ("rateLimits", "excludedIPs"))
"""Go `[]string` fields: another element type fails PocketBase's decoding (a load error, not a field's)."""


def _check_string_lists(s: dict[str, Any]) -> None:
    for path in STRING_LISTS:
        node: Any = s
        for key in path:
            node = node[key]
        if not all(isinstance(item, str) for item in node):
            raise TypeError(".".join(path))


def _keep_secrets(new: dict[str, Any], old: dict[str, Any], patch: dict[str, Any]) -> None:
    """A secret sent as `null` keeps the stored one, as Go's decoder leaves a string it reads
    `null` into (an omitted one is kept by the merge already). `""` clears it, as in PocketBase:
    its admin UI sends that to remove a password, e.g. for an SMTP server without auth."""
    for path in SECRET_PATHS:
        node, old_node = new, old
        sent: Any = patch
        for key in path[:-1]:
            node, old_node = node[key], old_node[key]
            sent = sent.get(key) if isinstance(sent, dict) else None
        if isinstance(sent, dict) and path[-1] in sent and sent[path[-1]] is None:
            node[path[-1]] = old_node[path[-1]]
