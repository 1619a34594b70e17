"""The provider's avatar, downloaded into a file field when `mappedFields.avatarURL` names one.

PocketBase's `safeFileFromURL`: one GET within 10 seconds, 2xx answers and 3xx ones that are not
followed accepted, and no connection to a loopback, private, link-local, multicast or unspecified
address, so a provider (or whoever sets a user's picture URL there) cannot make the server probe
its own network. PocketBase vets the address its dialer is about to connect to; here the host is
resolved first, every address it resolves to is vetted, and the request is sent to a vetted
address itself (the name kept for `Host` and TLS), so a DNS answer that changes between the check
and the connection (rebinding) is never used. Redirects are followed a few times, each hop vetted
the same way.

Deliberate differences: the body is capped at the target field's size (at most PocketBase's
32 MB body limit) and a bigger one is refused rather than truncated, so an oversized avatar is
skipped instead of failing the whole sign-in on the field's size check; the body must come
unencoded (`identity` is asked for), so a compressed answer cannot inflate past the cap; the
file is named from the URL's path only, never its query. Every failure is one warning naming the
URL without its query or credentials (either may carry tokens); the account is created without
the avatar.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket

import httpx2

from satchel.core.auth.oauth2.http import ProviderHTTP
from satchel.core.fields.file import FileField
from satchel.core.files.uploads import Upload
from satchel.tools.tls_trust import httpx_verify

log = logging.getLogger("satchel.auth.oauth2")

TIMEOUT_S = 10.0
"""PocketBase's context deadline around the whole download (resolution, redirects, body)."""
MAX_SIZE = 32 << 20
"""PocketBase's DefaultMaxBodySize, its read limit on the download."""
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AvatarError(Exception):
    """Why an avatar was not stored; messages never carry a query string or credentials."""


# ------------------------------------------------------------------------------ addresses
def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it leads."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def allowed_address(address: IPAddress) -> bool:
    """PocketBase's refusals (Go's loopback, unspecified, private, link-local, multicast) plus
    every range IANA marks as not globally reachable (shared, reserved, documentation, site-local)."""
    address = _embedded_ipv4(address)
    refused = (
        address.is_loopback
        or address.is_unspecified
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        or not address.is_global
    )
    return not refused


async def vetted_addresses(host: str, port: int, *, guard: bool) -> list[str]:
    """Every address `host` resolves to, in resolver order; refused when any one is disallowed."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AvatarError(f"{host} could not be resolved") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise AvatarError(f"{host} could not be resolved")
    check_addresses(host, addresses, guard=guard)
    return addresses


def check_addresses(host: str, addresses: list[str], *, guard: bool) -> None:
    """Refuse the host when any address it resolves to is not allowed (while `guard` is on)."""
    if not guard:
        return
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError as exc:
            raise AvatarError(f"{host} resolves to an unusable address") from exc
        if not allowed_address(address):
            raise AvatarError(f"{host} resolves to a disallowed address")


# ------------------------------------------------------------------------------- download
def shown(url: httpx2.URL) -> str:
    """The URL as logs may carry it: no credentials, query or fragment."""
    path = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}{path}"


def file_name(url: httpx2.URL) -> str:
    """PocketBase's `path.Base(url)`, taken from the path alone so no query reaches the name."""
    last = url.path.rstrip("/").rsplit("/", 1)[-1]
    return last or url.host or "avatar"


async def _open(client: httpx2.AsyncClient, url: httpx2.URL, *, guard: bool) -> httpx2.Response:
    """Send the GET to one of the host's vetted addresses (the next one when a connect fails)."""
    if url.scheme not in DEFAULT_PORTS:
        raise AvatarError(f"{shown(url)} does not use http or https")
    host = url.raw_host.decode("ascii")
    if not host:
        raise AvatarError("the avatar URL has no host")
    addresses = await vetted_addresses(host, url.port or DEFAULT_PORTS[url.scheme], guard=guard)
    headers = {"Host": url.netloc.decode("ascii"), "Accept-Encoding": "identity"}
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    failure: httpx2.ConnectError | None = None
    for address in addresses:
        pinned = url.copy_with(host=address)
        request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
        try:
            return await client.send(request, stream=True)
        except httpx2.ConnectError as exc:
            failure = exc
    raise AvatarError(f"{shown(url)} could not be reached") from failure


async def _read(response: httpx2.Response, url: httpx2.URL, max_size: int) -> bytes:
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise AvatarError(f"{shown(url)} answered an encoded body")
    body = bytearray()
    async for chunk in response.aiter_raw():
        if len(body) + len(chunk) > max_size:
            raise AvatarError(f"{shown(url)} answered more than {max_size} bytes")
        body += chunk
    if not body:
        raise AvatarError(f"{shown(url)} answered an empty body")  # PocketBase: "cannot create an empty file"
    return bytes(body)


async def download(http: ProviderHTTP, url: str, max_size: int) -> Upload:
    """The avatar at `url` as an upload named after the URL's last path segment."""
    original = target = httpx2.URL(url)
    guard = not http.allow_private_addresses
    async with httpx2.AsyncClient(
        timeout=http.timeout, transport=http.transport, follow_redirects=False, trust_env=False, verify=httpx_verify()
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            response = await _open(client, target, guard=guard)
            try:
                location = response.headers.get("location")
                if response.status_code in REDIRECTS and location:
                    target = target.join(location)
                    continue
                if not 200 <= response.status_code <= 399:
                    raise AvatarError(f"{shown(target)} answered {response.status_code}")
                data = await _read(response, target, max_size)
            finally:
                await response.aclose()
            return await Upload.from_bytes(data, file_name(original), response.headers.get("content-type", ""))
    raise AvatarError(f"{shown(original)} redirected more than {MAX_REDIRECTS} times")


async def avatar_upload(http: ProviderHTTP, url: str, field: FileField, collection: str) -> Upload | None:
    """The avatar for a new record's `field`, or None (and a warning) when it cannot be had."""
    try:
        where = shown(httpx2.URL(url))
    except (httpx2.InvalidURL, ValueError, UnicodeError):
        where = "an invalid URL"
    try:
        async with asyncio.timeout(TIMEOUT_S):
            return await download(http, url, min(field.effective_max_size, MAX_SIZE))
    except TimeoutError:
        reason = f"{where} took longer than {TIMEOUT_S:g}s"
    except AvatarError as exc:
        reason = str(exc)
    except (httpx2.HTTPError, httpx2.InvalidURL, ValueError, UnicodeError) as exc:
        reason = f"{where} failed: {type(exc).__name__}"  # their messages may repeat the full URL
    log.warning("Failed to retrieve OAuth2 avatar for %s.%s: %s", collection, field.name, reason)
    return None
