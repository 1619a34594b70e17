"""The `rateLimits` settings section: decoding a PATCH and validating it as PocketBase does.

PocketBase decodes the section into Go structs, so a `null` list is an empty list, a `null` or
missing rule field is its zero value (and then fails validation as blank), and a value of the wrong
JSON type (a fractional or quoted number) fails the whole request as "An error occurred while
loading the submitted data." `load_patch` reproduces that decoding; `validate` reproduces
`RateLimitsConfig.Validate` with PocketBase's codes, messages and params: each rule's own errors
first, and only when there are none the first conflicting label, including PocketBase's quirk that
a rule for every audience ("") conflicts with a same-label rule for one audience.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.ratelimit.rules import AUDIENCES

LABEL_FORMAT = re.compile(r"\w+ /[\w/-]*|/[\w/-]*|\w+:\w+|\*:\w+|\w+", re.ASCII)
"""PocketBase's label pattern (Go's `\\w` is ASCII-only): `METHOD /path`, `/path`, `tag:action`,
`*:action` or a bare tag."""

_INT64 = (-(1 << 63), (1 << 63) - 1)
RULE_KEYS = ("label", "audience", "duration", "maxRequests")


def load_patch(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its `rateLimits` section decoded as PocketBase would (TypeError: undecodable)."""
    section = data.get("rateLimits")
    if not isinstance(section, dict):
        return data  # absent, or a wrong type the generic settings merge rejects
    section = dict(section)
    if "rules" in section:
        rules = section["rules"]
        if rules is not None and not isinstance(rules, list):
            raise TypeError("rateLimits.rules")
        section["rules"] = [_load_rule(item) for item in rules or ()]
    if "excludedIPs" in section:
        ips = section["excludedIPs"]
        if ips is not None and not isinstance(ips, list):
            raise TypeError("rateLimits.excludedIPs")
        section["excludedIPs"] = [_string(ip) for ip in ips or ()]
    return {**data, "rateLimits": section}


def _load_rule(item: Any) -> dict[str, Any]:
    if item is None:
        item = {}
    if not isinstance(item, dict):
        raise TypeError("rateLimits.rules item")
    return {
        "label": _string(item.get("label")),
        "audience": _string(item.get("audience")),
        "duration": _integer(item.get("duration")),
        "maxRequests": _integer(item.get("maxRequests")),
    }


def _string(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _integer(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not _INT64[0] <= value <= _INT64[1]:
        raise TypeError(value)
    return value


# ----------------------------------------------------------------------------- validation
def validate(section: dict[str, Any]) -> ErrorTree:
    """PocketBase's field errors for the section ({} when valid)."""
    errors: ErrorTree = {}
    rules = [r if isinstance(r, dict) else {} for r in section.get("rules") or ()]
    if section.get("enabled") is True and not rules:
        errors["rules"] = required()
    else:
        rule_errors = _each_rule(rules) or _conflict(rules)  # PocketBase checks conflicts only then
        if rule_errors:
            errors["rules"] = rule_errors
    ip_errors: ErrorTree = {}
    for i, ip in enumerate(section.get("excludedIPs") or ()):
        if ip == "":
            ip_errors[str(i)] = required()
        elif not ip_or_subnet(ip):
            ip_errors[str(i)] = FieldError("validation_invlaid_ip_or_subnet", "Invalid IP or CIDR subnet.")
    if ip_errors:
        errors["excludedIPs"] = ip_errors
    return errors


def _conflict(rules: list[dict[str, Any]]) -> ErrorTree:
    """The first rule whose `label@@audience` prefixes, or is prefixed by, an earlier rule's."""
    seen: list[str] = []
    for i, rule in enumerate(rules):
        label = str(rule.get("label", ""))
        key = f"{label}@@{rule.get('audience', '')}"
        if any(key.startswith(k) or k.startswith(key) for k in seen):
            message = f"Rate limit rule configuration with label {label} already exists or conflicts with another rule."
            return {str(i): {"label": FieldError("validation_conflicting_rate_limit_rule", message, {"label": label})}}
        seen.append(key)
    return {}


def _each_rule(rules: list[dict[str, Any]]) -> ErrorTree:
    errors: ErrorTree = {}
    for i, rule in enumerate(rules):
        fields: ErrorTree = {}
        if rule.get("audience", "") not in AUDIENCES:
            fields["audience"] = FieldError("validation_in_invalid", "Must be a valid value.")
        for name in ("duration", "label", "maxRequests"):
            problem = _label_error(rule.get(name)) if name == "label" else _count_error(rule.get(name))
            if problem is not None:
                fields[name] = problem
        if fields:
            errors[str(i)] = fields
    return errors


def _label_error(label: Any) -> FieldError | None:
    if not label:
        return required()
    if not isinstance(label, str) or LABEL_FORMAT.fullmatch(label) is None:
        return FieldError("validation_match_invalid", "Must be in a valid format.")
    return None


def _count_error(value: Any) -> FieldError | None:
    if not value:
        return required()
    if not isinstance(value, int) or value < 1:
        return FieldError("validation_min_greater_equal_than_required", "Must be no less than 1.", {"threshold": 1})
    return None


def ip_or_subnet(value: Any) -> bool:
    """As PocketBase 0.40.6 accepts: an address (IPv6 zone allowed), or address/bits with
    canonical decimal bits (a zone is tolerated there too)."""
    if not isinstance(value, str):
        return False
    address, slash, bits = value.partition("/")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if not slash:
        return True
    if not (bits.isascii() and bits.isdigit()) or (len(bits) > 1 and bits[0] == "0"):
        return False
    return int(bits) <= parsed.max_prefixlen
