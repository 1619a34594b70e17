"""Runtime settings: PocketBase's `/api/settings` document, stored in the database.

Boot configuration (where the data lives, which port) is fixed at start; these settings are
edited while running, so they are validated section by section and swapped atomically.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import TYPE_CHECKING, Any

from satchel.core.backups.settings_check import schedule_errors
from satchel.core.errors import ErrorTree, FieldError, ValidationError, required
from satchel.core.fields.url import is_url
from satchel.core.params import bump_version, get_param, put_param
from satchel.core.ratelimit import section as rate_limits
from satchel.core.secrets_at_rest import SETTINGS_SECRET_PATHS, Secrets
from satchel.ports.database import Database
from satchel.tools.ids import random_string
from satchel.tools.jsonutil import dumps, loads

if TYPE_CHECKING:
    from satchel.core.schema_events import SchemaChanges

SETTINGS_KEY = "settings"

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


def _typed(key: str, value: Any, default: Any) -> Any:
    """`value` when its JSON type matches the default's (ints stay ints); TypeError otherwise.

    `null` is the zero value of the default's type, as Go decodes it into PocketBase's settings
    struct (an empty list, "", 0 or false; validation then judges it like any other value).
    """
    if value is None:
        return type(default)()
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
        raise TypeError(key)
    if isinstance(default, int | float):
        if not isinstance(value, int | float):
            raise TypeError(key)
        return int(value) if isinstance(default, int) and float(value).is_integer() else value
    for kind in (str, list):
        if isinstance(default, kind):
            if not isinstance(value, kind):
                raise TypeError(key)
            return copy.deepcopy(value)
    raise TypeError(key)


def _merge(base: dict[str, Any], patch: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Merge known keys only; a value's JSON type must match the default's."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if key not in defaults:
            continue
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise TypeError(key)
            out[key] = _merge(base.get(key, {}), value, default)
        else:
            out[key] = _typed(key, value, default)
    return out


def _validate(s: dict[str, Any]) -> ErrorTree:
    errors: ErrorTree = {}
    meta: ErrorTree = {}
    if not s["meta"]["appName"].strip():
        meta["appName"] = required()
    if not s["meta"]["appURL"].strip():
        meta["appURL"] = required()
    if meta:
        errors["meta"] = meta
    batch: ErrorTree = {}
    if s["batch"]["enabled"]:
        if s["batch"]["maxRequests"] <= 0:
            batch["maxRequests"] = required()
        if s["batch"]["timeout"] <= 0:
            batch["timeout"] = required()
    if s["batch"]["maxBodySize"] < 0:
        batch["maxBodySize"] = FieldError("validation_min_greater_equal_than_required", "Must be no less than 0.")
    if batch:
        errors["batch"] = batch
    logs: ErrorTree = {}
    if s["logs"]["maxDays"] < 0:
        logs["maxDays"] = FieldError("validation_min_greater_equal_than_required", "Must be no less than 0.")
    if logs:
        errors["logs"] = logs
    errors.update(_nonempty("smtp", _smtp_errors(s["smtp"])))
    errors.update(_nonempty("s3", _s3_errors(s["s3"])))
    backups = {**_nonempty("s3", _s3_errors(s["backups"]["s3"])), **schedule_errors(s["backups"])}
    errors.update(_nonempty("backups", backups))
    rate_limit_errors = rate_limits.validate(s["rateLimits"])
    if rate_limit_errors:
        errors["rateLimits"] = rate_limit_errors
    return errors


_DNS_NAME = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$")
SMTP_AUTH_METHODS = ("PLAIN", "LOGIN")


def is_host(value: str) -> bool:
    """An IP address or a DNS name (govalidator's IsHost, which PocketBase's `is.Host` runs)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(value) and len(value.replace(".", "")) <= 255 and _DNS_NAME.match(value) is not None
    return True


def _nonempty(key: str, tree: ErrorTree) -> ErrorTree:
    return {key: tree} if tree else {}


def _smtp_errors(smtp: dict[str, Any]) -> ErrorTree:
    """PocketBase's SMTPConfig rules: host and port only matter (and are required) once enabled."""
    errors: ErrorTree = {}
    host_error = "Must be a valid IP address or DNS name."
    if smtp["enabled"] and not smtp["host"]:
        errors["host"] = required()
    elif smtp["host"] and not is_host(smtp["host"]):
        errors["host"] = FieldError("validation_is_host", host_error)
    if smtp["enabled"] and not smtp["port"]:
        errors["port"] = required()
    elif smtp["port"] < 0:
        errors["port"] = FieldError(
            "validation_min_greater_equal_than_required", "Must be no less than 0.", {"threshold": 0}
        )
    if smtp["authMethod"] and smtp["authMethod"] not in SMTP_AUTH_METHODS:
        errors["authMethod"] = FieldError("validation_in_invalid", "Must be a valid value.")
    if smtp["localName"] and not is_host(smtp["localName"]):
        errors["localName"] = FieldError("validation_is_host", host_error)
    return errors


S3_REQUIRED = ("bucket", "region", "accessKey", "secret")


def _s3_errors(s3: dict[str, Any]) -> ErrorTree:
    """PocketBase's S3Config rules: everything is required once enabled; a set endpoint must be a URL."""
    errors: ErrorTree = {}
    if s3["endpoint"] and not is_url(s3["endpoint"]):
        errors["endpoint"] = FieldError("validation_is_url", "Must be a valid URL.")
    elif s3["enabled"] and not s3["endpoint"]:
        errors["endpoint"] = required()
    if s3["enabled"]:
        errors.update({key: required() for key in S3_REQUIRED if not s3[key]})
    return errors


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

    async def load(self) -> None:
        """Read the stored settings; raises SecretsKeyError (changing nothing) when a sealed secret
        does not open with the configured key."""
        raw = await get_param(self._db.executor(), SETTINGS_KEY)
        if raw is None:
            return
        stored = loads(raw)
        if isinstance(stored, dict):
            self.current = _merge(default_settings(), self.secrets.open_settings(stored), default_settings())

    async def patch(self, data: dict[str, Any]) -> dict[str, Any]:
        if self._schema is None:
            return await self._patch(data)
        return await self._schema.run(lambda: self._patch(data))

    async def _patch(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            new = _merge(self.current, rate_limits.load_patch(data), default_settings())
            _keep_secrets(new, self.current, data)
        except TypeError as exc:
            raise ValidationError("An error occurred while loading the submitted data.", {}) from exc
        errors = _validate(new)
        if errors:
            raise ValidationError("An error occurred while saving the new settings.", errors)
        await self._save(new)
        self.current = new
        return new

    async def _save(self, s: dict[str, Any]) -> None:
        async with self._db.transaction() as tx:
            if self._schema is None:
                await bump_version(tx)
            else:  # announced by the claim once committed
                await self._schema.claim(tx)
            await put_param(tx, SETTINGS_KEY, dumps(self.secrets.seal_settings(s)).decode())


def _keep_secrets(new: dict[str, Any], old: dict[str, Any], patch: dict[str, Any]) -> None:
    """A secret sent as `null` keeps the stored one, as Go's decoder leaves a string it reads
    `null` into (an omitted one is kept by the merge already). `""` clears it, as in PocketBase:
    its admin UI sends that to remove a password, e.g. for an SMTP server without auth."""
    for path in SECRET_PATHS:
        node, old_node, sent = new, old, patch
        for key in path[:-1]:
            node, old_node = node[key], old_node[key]
            sent = sent.get(key) if isinstance(sent, dict) else None
        if isinstance(sent, dict) and path[-1] in sent and sent[path[-1]] is None:
            node[path[-1]] = old_node[path[-1]]
