"""Rate-limit rules as PocketBase matches them, compiled once per settings version.

A request is described by labels, most specific first: for a collection action
`["users:authWithPassword", "users:auth", "*:authWithPassword", "*:auth", "POST /api/...", "/api/..."]`,
for any other route `["POST /api/batch", "/api/batch"]`. PocketBase's `FindRateLimitRule` walks
those labels in order; for each it takes the first rule (in settings order) whose label is equal,
then the first rule whose label ends with `/` and prefixes the label plus `/`. Only rules for the
caller's audience count ("" or "@guest" for guests, "" or "@auth" for signed-in records). The first
hit wins, so exactly one rule (or none) applies to a request.

Settings are swapped whole on every change, never edited in place, so the compiled form is cached
by the identity of the `rateLimits` section: the request path pays one dict lookup for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

AUDIENCE_ALL = ""
AUDIENCE_GUEST = "@guest"
AUDIENCE_AUTH = "@auth"
AUDIENCES = (AUDIENCE_ALL, AUDIENCE_GUEST, AUDIENCE_AUTH)

MAX_WINDOW = 10 * 365 * 86400
"""Longest window a backend is asked for (PocketBase accepts any int64 duration; Redis does not)."""

_IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
_IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Rule:
    label: str
    audience: str
    duration: int
    """Window length in seconds."""
    max_requests: int

    @property
    def window(self) -> float:
        return float(min(self.duration, MAX_WINDOW))


def path_labels(method: str, path: str) -> tuple[str, str]:
    """The labels of any request: exact `METHOD /path`, then the path (prefix rules match it)."""
    return (f"{method} {path}", path)


def collection_labels(collection: str, tags: Sequence[str], method: str, path: str) -> list[str]:
    """Labels of a collection action: `name:tag` for each tag, then `*:tag`, then the path labels."""
    return [
        *(f"{collection}:{t}" for t in tags),
        *(f"*:{t}" for t in tags),
        *path_labels(method, path),
    ]


class _Matcher:
    """The rules one audience may hit: first rule per exact label, prefix rules in settings order."""

    __slots__ = ("exact", "prefixes")

    def __init__(self, rules: Sequence[Rule], audiences: tuple[str, str]) -> None:
        self.exact: dict[str, Rule] = {}
        prefixes: list[Rule] = []
        for rule in rules:
            if rule.audience not in audiences:
                continue
            self.exact.setdefault(rule.label, rule)
            if rule.label.endswith("/"):
                prefixes.append(rule)
        self.prefixes = tuple(prefixes)

    def find(self, labels: Sequence[str]) -> Rule | None:
        for label in labels:
            rule = self.exact.get(label)
            if rule is not None:
                return rule
            if self.prefixes:
                slashed = label + "/"
                for rule in self.prefixes:
                    if slashed.startswith(rule.label):
                        return rule
        return None


class RuleSet:
    """The `rateLimits` settings section in matching form."""

    __slots__ = ("_auth", "_excluded", "_guest", "enabled", "rules")

    def __init__(self, section: dict[str, Any]) -> None:
        self.enabled = section.get("enabled") is True
        self.rules = tuple(_rules(section.get("rules")))
        self._guest = _Matcher(self.rules, (AUDIENCE_ALL, AUDIENCE_GUEST))
        self._auth = _Matcher(self.rules, (AUDIENCE_ALL, AUDIENCE_AUTH))
        self._excluded = _networks(section.get("excludedIPs"))

    def find(self, labels: Sequence[str], authenticated: bool) -> Rule | None:
        """The one rule that applies to a request with these labels (None: not limited)."""
        return (self._auth if authenticated else self._guest).find(labels)

    def is_excluded(self, ip: str) -> bool:
        """Whether `ip` is one of `excludedIPs` or inside one of its subnets."""
        if not self._excluded or not ip:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in item if isinstance(item, _IPNet) else address == item for item in self._excluded)


def _rules(raw: Any) -> list[Rule]:
    """Well-formed rules only: stored settings were validated, this keeps a hand-edited row harmless."""
    out: list[Rule] = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, dict):
            continue
        label, audience = item.get("label"), item.get("audience", "")
        duration, max_requests = item.get("duration"), item.get("maxRequests")
        well_formed = isinstance(label, str) and label and audience in AUDIENCES
        if well_formed and _positive(duration) and _positive(max_requests):
            out.append(Rule(str(label), str(audience), duration, max_requests))
    return out


def _positive(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _networks(raw: Any) -> tuple[_IPNet | _IPAddr, ...]:
    out: list[_IPNet | _IPAddr] = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, str):
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item))
        except ValueError:
            continue
    return tuple(out)


_compiled: dict[int, tuple[dict[str, Any], RuleSet]] = {}
_CACHE_SIZE = 16
"""Sections kept compiled: one per live App, with room for tests that run several in a process."""


def ruleset(section: dict[str, Any]) -> RuleSet:
    """The compiled form of a `rateLimits` section, built once per settings version."""
    hit = _compiled.get(id(section))
    if hit is not None and hit[0] is section:
        return hit[1]
    compiled = RuleSet(section)
    if len(_compiled) >= _CACHE_SIZE:
        _compiled.clear()
    _compiled[id(section)] = (section, compiled)  # holding `section` keeps its id from being reused
    return compiled
