"""Avatar downloads: the address guard, pinning to the vetted address, redirects, statuses and the
size cap, against real HTTP servers on loopback."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterator

import httpx2
import pytest

from satchel.core.auth.oauth2 import avatar
from satchel.core.auth.oauth2.avatar import AvatarError, allowed_address, download, vetted_addresses
from satchel.core.auth.oauth2.http import ProviderHTTP
from satchel.core.fields.file import FileField
from satchel.core.files.uploads import Upload
from tests.oauth2.avatar_server import PNG, AvatarServer, avatar_server, running

__all__ = ["avatar_server"]  # the fixture, used by name

REFUSED = [
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",
    "169.254.169.254",
    "224.0.0.1",
    "239.255.255.250",
    "100.64.0.1",  # shared address space (cloud metadata services live there too)
    "255.255.255.255",
    "192.0.2.10",
    "::1",
    "::",
    "fe80::1",
    "febf::ffff",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "ff0e::1",
    "fec0::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "11.0.0.1",
    "172.32.0.1",
    "192.169.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("text", REFUSED)
def test_non_public_addresses_are_refused(text: str) -> None:
    assert allowed_address(ipaddress.ip_address(text)) is False


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_are_allowed(text: str) -> None:
    assert allowed_address(ipaddress.ip_address(text)) is True


# ----------------------------------------------------------------------------- resolution
async def test_a_host_resolving_to_loopback_is_refused_unless_the_guard_is_off() -> None:
    with pytest.raises(AvatarError, match="disallowed"):
        await vetted_addresses("localhost", 80, guard=True)
    with pytest.raises(AvatarError, match="disallowed"):
        await vetted_addresses("127.0.0.1", 80, guard=True)
    assert "127.0.0.1" in await vetted_addresses("localhost", 80, guard=False)


def test_one_disallowed_address_among_many_refuses_the_host() -> None:
    assert avatar.check_addresses("cdn.example", ["8.8.8.8", "2606:4700:4700::1111"], guard=True) is None
    with pytest.raises(AvatarError, match=r"cdn\.example resolves to a disallowed address"):
        avatar.check_addresses("cdn.example", ["8.8.8.8", "10.0.0.1", "1.1.1.1"], guard=True)
    with pytest.raises(AvatarError, match=r"cdn\.example resolves to a disallowed address"):
        avatar.check_addresses("cdn.example", ["2606:4700:4700::1111", "fe80::1%eth0"], guard=True)
    with pytest.raises(AvatarError, match="unusable address"):
        avatar.check_addresses("cdn.example", ["8.8.8.8", "not-an-ip"], guard=True)
    assert avatar.check_addresses("cdn.example", ["10.0.0.1", "::1"], guard=False) is None


async def test_an_unknown_host_is_an_avatar_error() -> None:
    with pytest.raises(AvatarError, match="could not be resolved"):
        await vetted_addresses("nothing.invalid", 80, guard=False)


# ------------------------------------------------------------------------------- download
class Recording(httpx2.AsyncBaseTransport):
    """A real transport that remembers what it was asked to send."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def relaxed(transport: httpx2.AsyncBaseTransport | None = None) -> ProviderHTTP:
    return ProviderHTTP(timeout=5, transport=transport, allow_private_addresses=True)


async def content(upload: Upload) -> bytes:
    return b"".join([chunk async for chunk in upload.chunks()])


async def test_the_guard_is_on_by_default(avatar_server: AvatarServer) -> None:
    assert ProviderHTTP().allow_private_addresses is False
    with pytest.raises(AvatarError, match="disallowed"):
        await download(ProviderHTTP(timeout=5), avatar_server.url("/img/face.png"), 1 << 20)
    assert avatar_server.seen == []


async def test_an_avatar_becomes_an_upload_named_after_the_path(avatar_server: AvatarServer) -> None:
    upload = await download(relaxed(), avatar_server.url("/img/face.png?token=s3cret"), 1 << 20)
    assert await content(upload) == PNG and upload.size == len(PNG)
    assert upload.filename == "face.png" and re.fullmatch(r"face_[a-z0-9]{10}\.png", upload.name)
    assert upload.sniffed.mime == "image/png"
    assert [s.path for s in avatar_server.seen] == ["/img/face.png?token=s3cret"]


async def test_the_request_goes_to_the_vetted_address_under_the_host_name(avatar_server: AvatarServer) -> None:
    transport = Recording()
    await download(relaxed(transport), avatar_server.url("/img/a.png", host="localhost"), 1 << 20)
    (sent,) = transport.requests
    assert sent.url.host == "127.0.0.1" and sent.headers["host"] == f"localhost:{avatar_server.port}"
    assert sent.headers["accept-encoding"] == "identity"
    assert [s.host for s in avatar_server.seen] == [f"localhost:{avatar_server.port}"]


async def test_redirects_are_followed_a_few_times(avatar_server: AvatarServer) -> None:
    upload = await download(relaxed(), avatar_server.url("/redirect?to=/img/b.png"), 1 << 20)
    assert await content(upload) == PNG and upload.filename == "redirect"  # named after the URL asked for
    with pytest.raises(AvatarError, match="redirected more than 5 times"):
        await download(relaxed(), avatar_server.url("/loop"), 1 << 20)
    assert [s.path for s in avatar_server.seen].count("/loop") == avatar.MAX_REDIRECTS + 1


@pytest.fixture
def only_127_0_0_1_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard on, with 127.0.0.1 standing in for a public address and 127.0.0.2 for a private one."""
    monkeypatch.setattr(avatar, "allowed_address", lambda a: a == ipaddress.ip_address("127.0.0.1"))


@pytest.fixture
def private_server() -> Iterator[AvatarServer]:
    with running("127.0.0.2") as server:
        yield server


@pytest.mark.usefixtures("only_127_0_0_1_is_public")
async def test_each_redirect_hop_is_vetted(avatar_server: AvatarServer, private_server: AvatarServer) -> None:
    guarded = ProviderHTTP(timeout=5)
    assert await content(await download(guarded, avatar_server.url("/img/c.png"), 1 << 20)) == PNG
    assert await content(await download(relaxed(), private_server.url("/img/c.png"), 1 << 20)) == PNG  # reachable
    private_server.seen.clear()
    hidden = private_server.url("/img/internal.png")
    with pytest.raises(AvatarError, match=r"127\.0\.0\.2 resolves to a disallowed address"):
        await download(guarded, avatar_server.url(f"/redirect?to={hidden}"), 1 << 20)
    assert private_server.seen == []


@pytest.mark.parametrize(("status", "stored"), [(200, True), (203, True), (300, True), (302, True), (304, False)])
async def test_2xx_and_unfollowed_3xx_answers_are_read(avatar_server: AvatarServer, status: int, stored: bool) -> None:
    """As PocketBase: a status from 200 to 399 is read (304 has no body, and an empty file is refused)."""
    url = avatar_server.url(f"/status/{status}")
    if stored:
        assert await content(await download(relaxed(), url, 1 << 20)) == PNG
    else:
        with pytest.raises(AvatarError, match="empty body"):
            await download(relaxed(), url, 1 << 20)


@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
async def test_error_statuses_are_refused(avatar_server: AvatarServer, status: int) -> None:
    with pytest.raises(AvatarError, match=f"answered {status}"):
        await download(relaxed(), avatar_server.url(f"/status/{status}?token=s3cret"), 1 << 20)


async def test_the_body_is_capped(avatar_server: AvatarServer) -> None:
    assert len(await content(await download(relaxed(), avatar_server.url("/img/x.png?size=5000"), 5000))) == 5000
    with pytest.raises(AvatarError, match="more than 4999 bytes"):
        await download(relaxed(), avatar_server.url("/img/x.png?size=5000"), 4999)


async def test_encoded_empty_and_non_http_answers_are_refused(avatar_server: AvatarServer) -> None:
    with pytest.raises(AvatarError, match="encoded body"):
        await download(relaxed(), avatar_server.url("/gzip"), 1 << 20)
    with pytest.raises(AvatarError, match="empty body"):
        await download(relaxed(), avatar_server.url("/empty"), 1 << 20)
    with pytest.raises(AvatarError, match="does not use http or https"):
        await download(relaxed(), f"ftp://127.0.0.1:{avatar_server.port}/img/a.png", 1 << 20)


# ----------------------------------------------------------------------- failures logged
async def test_failures_are_one_warning_without_the_query(
    avatar_server: AvatarServer, caplog: pytest.LogCaptureFixture
) -> None:
    field = FileField(name="avatar")
    with caplog.at_level(logging.WARNING, logger="satchel.auth.oauth2"):
        guarded = await avatar.avatar_upload(
            ProviderHTTP(timeout=5), avatar_server.url("/img/a.png?token=s3cret"), field, "users"
        )
        status = await avatar.avatar_upload(relaxed(), avatar_server.url("/status/404?token=s3cret"), field, "users")
        credentials = await avatar.avatar_upload(
            relaxed(), "http://u:hunter2pass@localhost:1/x.png?token=s3cret", field, "users"
        )
    assert guarded is None and status is None and credentials is None
    messages = [r.getMessage() for r in caplog.records if r.name == "satchel.auth.oauth2"]
    assert len(messages) == 3 and all(
        m.startswith("Failed to retrieve OAuth2 avatar for users.avatar: ") for m in messages
    )
    assert "127.0.0.1 resolves to a disallowed address" in messages[0]
    assert f"http://127.0.0.1:{avatar_server.port}/status/404 answered 404" in messages[1]
    assert messages[2].endswith(": http://localhost:1/x.png could not be reached")
    assert not any("s3cret" in m or "hunter2pass" in m for m in messages)
    assert [s.path for s in avatar_server.seen] == ["/status/404?token=s3cret"]


async def test_a_download_that_takes_too_long_is_abandoned(
    avatar_server: AvatarServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(avatar, "TIMEOUT_S", 0.2)
    with caplog.at_level(logging.WARNING, logger="satchel.auth.oauth2"):
        result = await avatar.avatar_upload(relaxed(), avatar_server.url("/hang"), FileField(name="avatar"), "users")
    assert result is None
    assert [r.getMessage() for r in caplog.records if r.name == "satchel.auth.oauth2"] == [
        f"Failed to retrieve OAuth2 avatar for users.avatar: http://127.0.0.1:{avatar_server.port}/hang took longer than 0.2s"
    ]


async def test_the_cap_is_the_field_size_within_pocketbase_limit(avatar_server: AvatarServer) -> None:
    small = FileField(name="avatar", max_size=len(PNG) + 10)
    huge = FileField(name="avatar", max_size=1 << 40)
    stored = await avatar.avatar_upload(relaxed(), avatar_server.url(f"/img/a.png?size={len(PNG) + 10}"), small, "u")
    refused = await avatar.avatar_upload(relaxed(), avatar_server.url(f"/img/a.png?size={len(PNG) + 11}"), small, "u")
    assert stored is not None and refused is None
    over_pocketbase = avatar_server.url(f"/img/a.png?size={avatar.MAX_SIZE + 1}")
    assert await avatar.avatar_upload(relaxed(), over_pocketbase, huge, "u") is None
