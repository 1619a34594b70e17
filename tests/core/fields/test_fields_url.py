"""URLField against PocketBase 0.40.6 (accept/reject lists checked on the real server)."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.url import URLField, go_parse_url, is_url
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_URL = {
    "exceptDomains": ["bad.com"], "help": "", "hidden": False, "id": "url4067256894", "name": "u", "onlyDomains": [],
    "presentable": False, "required": False, "system": False, "type": "url",
}  # fmt: skip


def opts(field: URLField) -> OptionsContext:
    return OptionsContext(
        collection=Collection(id="c1", name="c", fields=[field]), old=None, find_collection=lambda _: None
    )


def test_to_json_matches_pocketbase() -> None:
    field = URLField.from_json(PB_URL)
    assert isinstance(field, URLField) and field.except_domains == ["bad.com"]
    assert field.to_json() == PB_URL


def test_coerce_and_storage() -> None:
    field = URLField(name="u")
    assert field.coerce(" http://x.com ") == " http://x.com "
    assert field.coerce(None) == ""
    assert field.column() == ir.ColumnDef("u", "TEXT", default="")
    assert field.from_db(field.to_db("http://x.com")) == "http://x.com"
    assert field.from_db(None) == ""


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("http://example.com", True), ("example.com", True), ("mailto:a@b.co", True), ("http//x.com", True),
        ("http://foo---bar.com", True), ("tcp://1.2.3.4:5", True), ("http://[::1]:80/", True),
        ("http://exämple.com", True), ("https://ab.cd.ef/x?y#z", True), ("http://localhost:8080", True),
        ("http://user:pass@host.com:99/p", True),
        ("https://a.b.c/x?y#z", False), ("http://-bad.com", False), ("foo", False), ("a.b:99999999", False),
        ("x.y:8o", False), ("http://%zz.com", False), ("//example.com/x", False), ("http://a_b.c", False),
        ("http://ex.com/ sp", False), (" http://x.com ", False), (".x.com", False), ("javascript:alert(1)", False),
    ],
)  # fmt: skip
def test_url_format(text: str, valid: bool) -> None:
    assert is_url(text) is valid


def test_url_format_stays_fast_on_hostile_input() -> None:
    for hostile in ("http://" + "a-a" * 600 + "!!", "http://" + "a." * 900 + "!", "a" * 2000 + "!", "x:" * 900):
        assert not is_url(hostile)


def test_go_parse_url_host_keeps_port() -> None:
    assert go_parse_url("http://Example.com:80/x") == ("Example.com:80", "/x")
    assert go_parse_url("example.com") == ("", "example.com")
    assert go_parse_url("http://x.com:8o") is None
    assert go_parse_url(":foo") is None


async def err(field: URLField, value: Any) -> dict[str, Any] | None:
    e = await field.validate(value, ctx())
    return None if e is None else e.to_json()


async def test_validate() -> None:
    assert await err(URLField(name="u"), "") is None
    assert await err(URLField(name="u", required=True), "") == {
        "code": "validation_required",
        "message": "Cannot be blank.",
    }
    assert await err(URLField(name="u"), "nope") == {
        "code": "validation_invalid_url",
        "message": "Must be a valid url.",
    }
    denied = {"code": "validation_url_domain_not_allowed", "message": "Url domain is not allowed."}
    only = URLField(name="u", only_domains=["example.com"])
    assert await err(only, "https://example.com/x") is None
    assert await err(only, "https://example.com:80/x") == denied  # the host includes the port
    assert await err(only, "https://Example.com/x") == denied  # case-sensitive
    assert await err(only, "example.com") == denied  # no scheme: no host
    assert await err(URLField(name="u", except_domains=["bad.com"]), "http://bad.com") == denied
    assert await err(URLField(name="u", except_domains=["bad.com"]), "http://good.com") is None


def test_options() -> None:
    both = URLField(name="u", only_domains=["a.com"], except_domains=["b.com"])
    assert {k: v.code for k, v in both.validate_options(opts(both)).items()} == {  # type: ignore[union-attr]
        "onlyDomains": "validation_empty",
        "exceptDomains": "validation_empty",
    }
    bad = URLField(name="u", only_domains=["a..com", "http://x.com"])
    assert set(bad.validate_options(opts(bad))["onlyDomains"]) == {"0", "1"}  # type: ignore[arg-type]
