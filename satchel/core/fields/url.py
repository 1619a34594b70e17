"""URLs as govalidator's `IsURL` accepts them, optionally limited by host."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import ValueContext
from satchel.core.fields.email import DomainListField, domain_allowed
from satchel.core.fields.text import cast_string

_IP6 = (
    r"(?:(?:[0-9a-fA-F]{1,4}:){7,7}[0-9a-fA-F]{1,4}|(?:[0-9a-fA-F]{1,4}:){1,7}:|(?:[0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}:){1,5}(?::[0-9a-fA-F]{1,4}){1,2}|(?:[0-9a-fA-F]{1,4}:){1,4}(?::[0-9a-fA-F]{1,4}){1,3}"
    r"|(?:[0-9a-fA-F]{1,4}:){1,3}(?::[0-9a-fA-F]{1,4}){1,4}|(?:[0-9a-fA-F]{1,4}:){1,2}(?::[0-9a-fA-F]{1,4}){1,5}"
    r"|[0-9a-fA-F]{1,4}:(?:(?::[0-9a-fA-F]{1,4}){1,6})|:(?:(?::[0-9a-fA-F]{1,4}){1,7}|:)|fe80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]{1,}"
    r"|::(?:ffff(?::0{1,4}){0,1}:){0,1}(?:(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])"
    r"|(?:[0-9a-fA-F]{1,4}:){1,4}:(?:(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9]))"
)
_IP4 = (
    r"(?:[1-9][0-9]?|1[0-9][0-9]|2[01][0-9]|22[0-3]|24[0-9]|25[0-5])"
    r"(?:\.(?:[0-9]{1,2}|1[0-9][0-9]|2[0-4][0-9]|25[0-5])){2}(?:\.(?:[0-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))"
)
_H = "a-zA-Z\u00a1-\uffff0-9"
_C = "a-zA-Z0-9"
# govalidator's rxURL, with its ambiguous sub-patterns rewritten to equivalent unambiguous ones
# (Go's RE2 never backtracks; Python's `re` would take exponential time on them):
#   `c([c-_]+)?c([-.]c+)*`      -> `c[c-_]*c(\.c+([-.]c+)*)?`
#   `c+([-_.]?c)*c\.c+`          -> `(c{2,}|c+([-_.]c+)+)\.c+`
#   `(([h]+-?-?)*[h]+)`           -> `[h]+(-{1,2}[h]+)*`
_LABELS = rf"(?:[{_C}][{_C}\-_]*[{_C}](?:\.[{_C}]+(?:[-.][{_C}]+)*)?)"
_SUBDOMAIN = rf"(?:(?:www\.)|(?:(?:[{_C}]{{2,}}|[{_C}]+(?:[-_.][{_C}]+)+)\.[{_C}]+))"
URL_RE = re.compile(
    r"^(?:(?:ftp|tcp|udp|wss?|https?)://)?(?:\S+(?::\S*)?@)?"
    rf"(?:{_IP4}|(?:\[{_IP6}\])|(?:(?:{_LABELS}|(?:{_SUBDOMAIN}?))?"
    rf"(?:[{_H}]+(?:-{{1,2}}[{_H}]+)*)(?:\.(?:[a-zA-Z\u00a1-\uffff]{{1,}}))?))\.?(?::(?:[0-9]{{1,5}}))?(?:(?:/|\?|#)\S*)?\Z",
    re.ASCII,
)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_BAD_ESCAPE = re.compile(r"%(?![0-9a-fA-F]{2})")


def go_parse_url(text: str) -> tuple[str, str] | None:
    """(host, path) the way Go's `url.Parse` splits `text`, or None where it reports an error."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return None
    rest = text.split("#", 1)[0]
    if rest.startswith(":"):
        return None  # missing protocol scheme
    scheme = _SCHEME.match(rest)
    if scheme:
        rest = rest[scheme.end() :]
    rest = rest.split("?", 1)[0]
    host = ""
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        host = authority.rpartition("@")[2]
        if not _valid_host(host):
            return None
    elif not scheme and ":" in rest.split("/", 1)[0]:
        return None  # first path segment in URL cannot contain colon
    if _BAD_ESCAPE.search(rest):
        return None
    return host, rest


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        port = host[end + 1 :]
        return port == "" or ((port.startswith(":") and port[1:].isdigit()) or port == ":")
    if ":" in host:
        port = host[host.rfind(":") + 1 :]
        if port and not (port.isascii() and port.isdigit()):
            return False
    return not _BAD_ESCAPE.search(host)


def is_url(text: str) -> bool:
    """govalidator's `IsURL` as vendored by PocketBase (scheme optional)."""
    if not text or len(text) >= 2083 or len(text.encode()) <= 3 or text.startswith("."):
        return False
    candidate = "http://" + text if ":" in text and "://" not in text else text
    parsed = go_parse_url(candidate)
    if parsed is None:
        return False
    host, path = parsed
    if host.startswith(".") or (host == "" and path != "" and "." not in path):
        return False
    return URL_RE.match(text) is not None


@dataclass(slots=True, kw_only=True)
class URLField(DomainListField):
    type: ClassVar[str] = "url"

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        text = value if isinstance(value, str) else cast_string(value)
        if text == "":
            return required() if self.required else None
        if not is_url(text):
            return FieldError("validation_invalid_url", "Must be a valid url.")
        parsed = go_parse_url(text)
        host = parsed[0] if parsed else ""
        if not domain_allowed(host, self.only_domains, self.except_domains):
            return FieldError("validation_url_domain_not_allowed", "Url domain is not allowed.")
        return None
