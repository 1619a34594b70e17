"""The dashboard's files at /_/: strict CSP, revalidation by ETag, nothing outside static/."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import httpx2
import pytest

from satchel.apis.dashboard import assets

STATIC = resources.files("satchel.apis.dashboard").joinpath("static")


def _csp(value: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for part in value.split(";"):
        name, *sources = part.split()
        out[name] = set(sources)
    return out


async def test_index_is_served_with_a_strict_csp(client: httpx2.AsyncClient) -> None:
    r = await client.get("/_/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert b'<script type="module" src="./js/main.js">' in r.content
    csp = _csp(r.headers["content-security-policy"])
    assert csp["default-src"] == {"'self'"}
    for directive in ("script-src", "style-src"):
        assert csp[directive] == {"'self'"}  # no 'unsafe-inline', no 'unsafe-eval', no remote hosts
    assert csp["frame-ancestors"] == {"'none'"}
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/_/app.css", "text/css"), ("/_/js/main.js", "text/javascript"), ("/_/favicon.svg", "image/svg+xml")],
)
async def test_files_and_their_types(client: httpx2.AsyncClient, path: str, content_type: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(content_type)
    assert "content-security-policy" in r.headers
    name = path.removeprefix("/_/")
    assert r.content == STATIC.joinpath(*name.split("/")).read_bytes()


async def test_unchanged_file_answers_304(client: httpx2.AsyncClient) -> None:
    first = await client.get("/_/js/api.js")
    etag = first.headers["etag"]
    again = await client.get("/_/js/api.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = await client.get("/_/js/api.js", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


async def test_head_has_the_length_and_no_body(client: httpx2.AsyncClient) -> None:
    r = await client.head("/_/app.css")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) == len(STATIC.joinpath("app.css").read_bytes())


async def test_bare_path_redirects_to_the_slash(client: httpx2.AsyncClient) -> None:
    r = await client.get("/_", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == "/_/"


@pytest.mark.parametrize(
    "path",
    ["/_/nope.js", "/_/js/nope.js", "/_/..%2Fassets.py", "/_/js/..%2F..%2Fassets.py", "/_/__init__.py", "/_/static"],
)
async def test_anything_else_is_a_json_404(client: httpx2.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.json() == {"data": {}, "message": "The requested resource wasn't found.", "status": 404}


async def test_only_get_and_head(client: httpx2.AsyncClient) -> None:
    r = await client.post("/_/", content=b"x")
    assert r.status_code == 405
    assert r.json()["status"] == 405


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k for k, _ in attrs}
        if tag == "style" or "style" in names or any(k.startswith("on") for k in names):
            self.problems.append(f"<{tag} {sorted(names)}>")
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")

    def handle_data(self, data: str) -> None:
        pass


def test_index_has_no_inline_script_or_style() -> None:
    parser = _Inline()
    parser.feed(STATIC.joinpath("index.html").read_text())
    assert parser.problems == []


def test_every_served_module_exists_and_no_script_writes_html() -> None:
    """Record data reaches the page only as text: no module may parse strings as HTML."""
    served = assets.load()
    modules = {name for name in served if name.endswith(".js")}
    assert "js/main.js" in modules
    for name in modules:
        source = served[name].body.decode()
        for pattern in (r"\.innerHTML\b", r"\.outerHTML\b", r"insertAdjacentHTML", r"document\.write", r"\beval\(", r"new Function\("):
            assert not re.search(pattern, source), f"{name} uses {pattern}"
        for imported in re.findall(r'from "\./([\w.]+)"', source):
            assert f"js/{imported}" in modules, f"{name} imports a missing module {imported}"


def test_every_static_file_ships_in_the_wheel_and_is_served() -> None:
    """A file the package-data globs miss works from a checkout but is absent from `pip install`."""
    root = Path(str(STATIC)).parent
    config = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["satchel.apis.dashboard"]
    files = [p.relative_to(root).as_posix() for p in (root / "static").rglob("*") if p.is_file()]
    assert files
    served = assets.load()
    for name in files:
        assert any(fnmatch.fnmatch(name, g) and name.count("/") == g.count("/") for g in globs), f"{name} not in package-data"
        assert name.removeprefix("static/") in served, f"{name} is not served"
