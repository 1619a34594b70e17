"""The Collection: a named table with typed fields, API rules and (for auth) auth options.

Collections are loaded once into memory (see `registry`) and replaced wholesale when saved, so
request code reads them without locks. The JSON shape is PocketBase's, key for key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from satchel.core.fields.base import Field
from satchel.tools.keyring import KeyRing

CollectionType = Literal["base", "auth", "view"]

RULE_KEYS = ("listRule", "viewRule", "createRule", "updateRule", "deleteRule")
AUTH_RULE_KEYS = ("authRule", "manageRule")

SUPERUSERS = "_superusers"
SUPERUSERS_ID = "pbc_3142635823"
USERS_ID = "_pb_users_auth_"

_TPL_FOOTER = "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"


def _tpl(subject: str, body: str) -> dict[str, str]:
    return {"subject": subject, "body": body + "\n" + _TPL_FOOTER}


def default_auth_options(collection_name: str = "") -> dict[str, Any]:
    """Auth options of a new auth collection, as PocketBase fills them in."""
    return {
        "authRule": "",
        "manageRule": None,
        "authAlert": {
            "enabled": True,
            "emailTemplate": _tpl(
                "Login from a new location",
                "<p>Hello,</p>\n<p>We noticed a login to your {APP_NAME} account from a new location:</p>\n"
                "<p><em>{ALERT_INFO}</em></p>\n<p><strong>If this wasn't you, you should immediately change "
                "your {APP_NAME} account password to revoke access from all other locations.</strong></p>\n"
                "<p>If this was you, you may disregard this email.</p>",
            ),
        },
        "oauth2": {
            "providers": [],
            "mappedFields": {"id": "", "name": "", "username": "", "avatarURL": ""},
            "enabled": False,
        },
        "passwordAuth": {"enabled": True, "identityFields": ["email"]},
        "mfa": {"enabled": False, "duration": 600, "rule": ""},
        "otp": {
            "enabled": False,
            "duration": 180,
            "length": 8,
            "emailTemplate": _tpl(
                "OTP for {APP_NAME}",
                "<p>Hello,</p>\n<p>Your one-time password is: <strong>{OTP}</strong></p>\n"
                "<p><i>If you didn't ask for the one-time password, you can ignore this email.</i></p>",
            ),
        },
        "authToken": {"duration": 86400 if collection_name == SUPERUSERS else 432000},
        "passwordResetToken": {"duration": 1800},
        "emailChangeToken": {"duration": 1800},
        "verificationToken": {"duration": 86400},
        "fileToken": {"duration": 180},
        "verificationTemplate": _tpl(
            "Verify your {APP_NAME} email",
            "<p>Hello,</p>\n<p>Thank you for joining us at {APP_NAME}.</p>\n"
            "<p>Click on the button below to verify your email address.</p>\n<p>\n"
            '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-verification/{TOKEN}" target="_blank" '
            'rel="noopener">Verify</a>\n</p>\n'
            "<p><i>If you didn't recently register, please ignore this email.</i></p>",
        ),
        "resetPasswordTemplate": _tpl(
            "Reset your {APP_NAME} password",
            "<p>Hello,</p>\n<p>Click on the button below to reset your password.</p>\n<p>\n"
            '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}" target="_blank" '
            'rel="noopener">Reset password</a>\n</p>\n'
            "<p><i>If you didn't ask to reset your password, please ignore this email.</i></p>",
        ),
        "confirmEmailChangeTemplate": _tpl(
            "Confirm your {APP_NAME} new email address",
            "<p>Hello,</p>\n<p>Click on the button below to confirm your new email address.</p>\n<p>\n"
            '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}" target="_blank" '
            'rel="noopener">Confirm new email</a>\n</p>\n'
            "<p><i>If you didn't ask to change your email address, please ignore this email.</i></p>",
        ),
    }


def _public_provider(entry: Any) -> Any:
    """An OAuth2 provider entry as the API shows it: never its client secret (not even to superusers,
    as PocketBase: an update that leaves it out keeps the stored one), and `extra` always present."""
    if not isinstance(entry, dict):
        return entry
    out = {k: v for k, v in entry.items() if k != "clientSecret"}
    out.setdefault("extra", {})
    return out


@dataclass(slots=True, kw_only=True)
class Collection:
    id: str
    name: str
    type: CollectionType = "base"
    system: bool = False
    fields: list[Field] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    listRule: str | None = None
    viewRule: str | None = None
    createRule: str | None = None
    updateRule: str | None = None
    deleteRule: str | None = None
    created: str = ""
    updated: str = ""
    view_query: str = ""
    auth: dict[str, Any] = field(default_factory=dict)
    """Auth-only options (authRule, manageRule, passwordAuth, tokens, templates...) by wire key."""
    search: Any = None
    """Full-text search option (`{"fields": [...]}`, see `collections.search`); None when off."""
    keys: KeyRing | None = field(default=None, repr=False, compare=False)
    """The app's keys, for fields with `encrypted: true` (set by the registry; not part of the JSON)."""

    # ------------------------------------------------------------------ lookups
    @property
    def is_auth(self) -> bool:
        return self.type == "auth"

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    @property
    def is_superusers(self) -> bool:
        return self.name == SUPERUSERS

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def field_by_id(self, field_id: str) -> Field | None:
        for f in self.fields:
            if f.id == field_id:
                return f
        return None

    def max_body_size(self, default: int) -> int:
        """The body limit of a record create/update: `default` plus what each field may carry
        (PocketBase's dynamic collection body limit; a view collection takes no writes)."""
        if self.is_view:
            return default
        return default + sum(f.max_body_size() for f in self.fields)

    @property
    def encrypted_fields(self) -> list[Field]:
        return [f for f in self.fields if getattr(f, "encrypted", False)]

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def rule(self, key: str) -> str | None:
        """A rule by its wire key (`listRule`, ..., `authRule`, `manageRule`)."""
        if key in AUTH_RULE_KEYS:
            value: str | None = self.auth.get(key)
            return value
        result: str | None = getattr(self, key)
        return result

    @property
    def auth_token_duration(self) -> int:
        return int(self.auth.get("authToken", {}).get("duration", 432000))

    @property
    def identity_fields(self) -> list[str]:
        return list(self.auth.get("passwordAuth", {}).get("identityFields", ["email"]))

    # ---------------------------------------------------------------------- JSON
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "listRule": self.listRule,
            "viewRule": self.viewRule,
            "createRule": self.createRule,
            "updateRule": self.updateRule,
            "deleteRule": self.deleteRule,
            "name": self.name,
            "type": self.type,
            "fields": [f.to_json() for f in self.fields],
            "indexes": list(self.indexes),
            "created": self.created,
            "updated": self.updated,
            "system": self.system,
        }
        if self.type == "auth":
            out.update(copy.deepcopy(self.auth))
            oauth2 = out.get("oauth2")
            if isinstance(oauth2, dict) and isinstance(oauth2.get("providers"), list):
                oauth2["providers"] = [_public_provider(p) for p in oauth2["providers"]]
        elif self.type == "view":
            out["viewQuery"] = self.view_query
        if self.search is not None:
            out["search"] = copy.deepcopy(self.search)
        return out

    def clone(self) -> Collection:
        return copy.deepcopy(self)
