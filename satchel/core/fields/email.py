"""Email addresses, optionally limited to (or excluding) domains.

Also home of the domain-list options email and url share (PocketBase validates both alike).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import OptionsContext, ValueContext
from satchel.core.fields.options import Option
from satchel.core.fields.text import StoredText, cast_string

# govalidator's IsEmail pattern (what ozzo-validation's `is.EmailFormat` runs), rewritten with
# Python escapes; `_U` is its "unicode letter" range.
_U = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
_ATEXT = rf"[a-zA-Z0-9!#$%&'*+\-/=?^_`{{|}}~{_U}]"
_QTEXT = rf"(?:[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]|\x21|[\x23-\x5b]|[\x5d-\x7e]|[{_U}])"
_QPAIR = rf"(?:\\[\x01-\x09\x0b\x0c\x0d-\x7f]|\\[{_U}])"
_FWS = r"(?:(?:[\x20\x09]*\x0d\x0a)?[\x20\x09]+)"
_LOCAL = rf"(?:{_ATEXT}+(?:\.{_ATEXT}+)*|\x22(?:{_FWS}?(?:{_QTEXT}|{_QPAIR}))*{_FWS}?\x22)"
# The domain half is checked by hand: the original `(label\.)+tld` lets labels hold dots, which
# makes a backtracking engine explode on long invalid input (Go's RE2 does not backtrack).
_LOCAL_AT = re.compile(rf"^{_LOCAL}@", re.DOTALL)
_ALNUM_U = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _unicode_letter(ch: str) -> bool:
    o = ord(ch)
    return 0xA0 <= o <= 0xD7FF or 0xF900 <= o <= 0xFDCF or 0xFDF0 <= o <= 0xFFEF


def _edge_ok(ch: str, letters_only: bool) -> bool:
    return (ch in _ALPHA if letters_only else ch in _ALNUM_U) or _unicode_letter(ch)


def _email_domain_ok(domain: str) -> bool:
    if domain.endswith("."):
        domain = domain[:-1]
    prefix, dot, tld = domain.rpartition(".")
    if not dot or not prefix or not tld:
        return False
    if not (_edge_ok(tld[0], True) and _edge_ok(tld[-1], True)):
        return False
    if any(not (_edge_ok(c, False) or c in "-_~") for c in tld):
        return False
    if not (_edge_ok(prefix[0], False) and _edge_ok(prefix[-1], False)):
        return False
    return all(_edge_ok(c, False) or c in "-._~" for c in prefix)


DOMAIN_RE = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+(?:[a-zA-Z]{1,63}| xn--[a-z0-9]{1,59})\Z")


def is_email(text: str) -> bool:
    """govalidator's `IsEmail` (ozzo-validation's `is.EmailFormat`)."""
    m = _LOCAL_AT.match(text)
    return m is not None and _email_domain_ok(text[m.end() :])


def domain_options_errors(only: list[str], exclude: list[str]) -> ErrorTree:
    """Each list must be empty when the other is set, and otherwise hold valid domains."""
    errors: ErrorTree = {}
    for key, values, other in (("exceptDomains", exclude, only), ("onlyDomains", only, exclude)):
        if values and other:
            errors[key] = FieldError("validation_empty", "Must be blank.")
            continue
        bad: ErrorTree = {
            str(i): FieldError("validation_is_domain", "Must be a valid domain.")
            for i, domain in enumerate(values)
            if len(domain) > 255 or not DOMAIN_RE.match(domain)
        }
        if bad:
            errors[key] = bad
    return errors


def domain_allowed(domain: str, only: list[str], exclude: list[str]) -> bool:
    """Exact, case-sensitive membership, as PocketBase compares them."""
    if only and domain not in only:
        return False
    return not (exclude and domain in exclude)


@dataclass(slots=True, kw_only=True)
class DomainListField(StoredText):
    """Text values limited by `onlyDomains` / `exceptDomains` (email and url)."""

    options: ClassVar[tuple[Option, ...]] = (
        ("exceptDomains", "except_domains", "strlist"),
        ("onlyDomains", "only_domains", "strlist"),
    )
    except_domains: list[str] = field(default_factory=list)
    only_domains: list[str] = field(default_factory=list)

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        return domain_options_errors(self.only_domains, self.except_domains)


@dataclass(slots=True, kw_only=True)
class EmailField(DomainListField):
    type: ClassVar[str] = "email"

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        text = value if isinstance(value, str) else cast_string(value)
        if text == "":
            return required() if self.required else None
        if not is_email(text):
            return FieldError("validation_is_email", "Must be a valid email address.")
        if not domain_allowed(text[text.rfind("@") + 1 :], self.only_domains, self.except_domains):
            return FieldError("validation_email_domain_not_allowed", "Email domain is not allowed.")
        return None
