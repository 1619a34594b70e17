"""`satchel serve` with a satchel_hooks/ folder: the documented hook files over two real workers,
a broken file stopping the start, and `--dev` reloading an edited file."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.apis.test_api_realtime import EMAIL, PASSWORD, free_port, healthy
from tests.apis.test_api_realtime_scaleout import Serve, fresh_connection_client, subscribers
from tests.plugins.docs_examples import write_hook_files

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "public = true",
    "viewRule": "public = true",
    "createRule": "",
    "deleteRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "words", "type": "number"},
        {"name": "public", "type": "bool"},
    ],
}
SERVE = [sys.executable, "-m", "satchel.cli.main", "serve"]


def start(data: Path, log: Path, *args: str) -> Serve:
    subprocess.run(
        [sys.executable, "-m", "satchel.cli.main", "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SERVE, "--http", f"127.0.0.1:{port}", "--dir", str(data), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Serve(proc, f"http://127.0.0.1:{port}", data)
    if healthy(server.url, proc):
        return server
    server.stop()
    raise RuntimeError(f"satchel serve did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """The docs' hook files in satchel_hooks/ next to the data directory (the default place)."""
    tmp = tmp_path_factory.mktemp("hooks")
    assert write_hook_files(tmp / "satchel_hooks") == [
        "guards.py",
        "news.py",
        "posts.py",
        "reading_time.py",
        "routes.py",
        "sign_in.py",
    ]
    server = start(tmp / "satchel_data", tmp / "serve.log", "--workers", "2")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def accounts(documented: Serve) -> dict[str, dict[str, str]]:
    """Superuser and user headers; the posts collection created."""
    with httpx2.Client(base_url=documented.url, timeout=10) as http:
        r = http.post("/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD})
        su = {"Authorization": r.json()["token"]}
        assert http.post("/api/collections", headers=su, json=POSTS).status_code == 200
        user = {"email": "u@example.com", "password": "user-pass-1", "passwordConfirm": "user-pass-1"}
        assert http.post("/api/collections/users/records", headers=su, json=user).status_code == 200
        r = http.post("/api/collections/users/auth-with-password", json={"identity": user["email"], "password": user["password"]})
        return {"su": su, "user": {"Authorization": r.json()["token"]}, "user_id": {"id": r.json()["record"]["id"]}}


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx2.Response:
    with httpx2.Client(base_url=url, timeout=10) as http:
        return http.post("/api/collections/posts/records", json=body, headers=headers or {})


def test_hooks_change_deny_and_enrich(documented: Serve, accounts: dict[str, dict[str, str]]) -> None:
    url, su = documented.url, accounts["su"]
    r = post(url, {"title": "  hello   big \t world ", "public": True})
    assert r.status_code == 200, r.text
    created = r.json()
    assert (created["title"], created["words"]) == ("hello big world", 3)  # posts.py
    r = post(url, {"title": "ALL CAPS TITLE", "public": True})
    assert r.status_code == 400
    assert r.json() == {
        "data": {"title": {"code": "validation_no_shouting", "message": "Titles must not be all caps."}},
        "message": "Failed to create record.",
        "status": 400,
    }
    with httpx2.Client(base_url=url, timeout=10) as http:
        titles = [p["title"] for p in http.get("/api/collections/posts/records", params={"perPage": 100}).json()["items"]]
        assert "ALL CAPS TITLE" not in titles and "hello big world" in titles  # no partial write
        viewed = http.get(f"/api/collections/posts/records/{created['id']}").json()
        assert viewed["readingMinutes"] == 1 and viewed["title"] == "hello big world"  # reading_time.py
        r = http.delete(f"/api/collections/posts/records/{created['id']}", headers=accounts["user"])
        assert r.status_code == 403
        assert r.json() == {"data": {}, "message": "Only superusers may delete posts.", "status": 403}
        assert http.get(f"/api/collections/posts/records/{created['id']}").status_code == 200
        assert http.delete(f"/api/collections/posts/records/{created['id']}", headers=su).status_code == 204




async def test_routes_on_every_worker(documented: Serve, accounts: dict[str, dict[str, str]]) -> None:
    url, su, user = documented.url, accounts["su"], accounts["user"]
    public = post(url, {"title": "open post", "public": True}).json()["id"]
    private = post(url, {"title": "hidden post here", "public": False}).json()["id"]
    async with fresh_connection_client(url) as http:  # new connections: both workers answer some
        for _ in range(4):
            r = await http.get("/api/hello/bob")
            assert r.status_code == 401 and r.json()["status"] == 401
            r = await http.get("/api/hello/bob", headers=user)
            assert r.json() == {"message": "Hello bob!", "you": accounts["user_id"]["id"]}
            assert (await http.get(f"/api/posts/{public}/summary")).json() == {"title": "open post", "words": 2}
            assert (await http.get(f"/api/posts/{private}/summary")).status_code == 404
            assert (await http.get(f"/api/posts/{private}/summary", headers=su)).json()["words"] == 3
            assert (await http.get("/api/admin/uptime", headers=user)).status_code == 403
            seconds = (await http.get("/api/admin/uptime", headers=su)).json()["seconds"]
            assert 0 <= seconds < 600  # on_serve ran in the worker that answered


async def test_custom_realtime_message_reaches_subscribers_on_both_workers(
    documented: Serve, accounts: dict[str, dict[str, str]]
) -> None:
    async with subscribers(documented.url, nodes=2, topic="news") as subs:
        created = post(documented.url, {"title": "breaking", "public": False}).json()
        for sub in subs:
            [event] = await sub.events(1)
            assert event["event"] == "news"
            assert event["data"] == {"postId": created["id"], "title": "breaking"}


def test_a_broken_hook_file_stops_the_start_with_its_file_and_line(tmp_path: Path) -> None:
    hooks = tmp_path / "my_hooks"
    hooks.mkdir()
    (hooks / "fine.py").write_text("async def h(e):\n    await e.next()\napp.on_serve()(h)\n")
    broken = hooks / "posts.py"
    broken.write_text("@app.on_record_create('posts')\nasync def h(e):\n    await e.next()\nrecrod.save()\n")
    port = free_port()
    args = ["--http", f"127.0.0.1:{port}", "--dir", str(tmp_path / "d"), "--workers", "2", "--hooks-dir", str(hooks)]
    r = subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == f"Error: cannot load the Python hooks:\n  {broken}, line 4: NameError: name 'recrod' is not defined\n"
    assert "Server started" not in r.stdout  # stopped before granian and its workers


VERSIONED = "@app.route('/api/version', methods=['GET'])\nasync def version(e):\n    return {{'version': {n}}}\n"


def versions_seen(url: str, tries: int = 8) -> set[int]:
    """The versions answered over `tries` new connections (any worker may take each)."""
    seen = set()
    with httpx2.Client(base_url=url, timeout=10, limits=httpx2.Limits(max_keepalive_connections=0)) as http:
        for _ in range(tries):
            r = http.get("/api/version")
            seen.add(r.json()["version"] if r.status_code == 200 else -r.status_code)
    return seen


def wait_for_version(url: str, n: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if versions_seen(url) == {n}:
            return
        time.sleep(0.3)
    raise AssertionError(f"still serving {versions_seen(url)}, not only {n}")


def test_dev_reloads_an_edited_hook_file_on_every_worker(tmp_path: Path) -> None:
    hooks = tmp_path / "satchel_hooks"
    hooks.mkdir()
    hook = hooks / "version.py"
    hook.write_text(VERSIONED.format(n=1))
    log = tmp_path / "serve.log"
    server = start(tmp_path / "satchel_data", log, "--dev", "--workers", "2")
    try:
        pids = set(server.worker_pids())
        assert versions_seen(server.url) == {1}
        hook.write_text(VERSIONED.format(n=2))
        wait_for_version(server.url, 2)
        deadline = time.monotonic() + 20  # the old workers stop one after the other
        while pids & set(server.worker_pids()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pids & set(server.worker_pids())  # both workers were replaced
        # a save that does not load: reported, and the workers keep version 2
        hook.write_text(VERSIONED.format(n=3) + "oops(\n")
        deadline = time.monotonic() + 20
        while "SyntaxError" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert f"{hook}, line 4: SyntaxError" in log.read_text()
        assert "keep the previous hooks" in log.read_text()
        time.sleep(1.5)
        assert versions_seen(server.url) == {2} and server.proc.poll() is None
        hook.write_text(VERSIONED.format(n=4))
        wait_for_version(server.url, 4)
    finally:
        server.stop()


def test_sign_in_hook_annotates_and_refuses(documented: Serve, accounts: dict[str, dict[str, str]]) -> None:
    with httpx2.Client(base_url=documented.url, timeout=10) as http:
        user = {"email": "x@suspended.example", "password": "user-pass-1", "passwordConfirm": "user-pass-1"}
        assert http.post("/api/collections/users/records", headers=accounts["su"], json=user).status_code == 200
        r = http.post("/api/collections/users/auth-with-password", json={"identity": user["email"], "password": user["password"]})
        assert r.status_code == 403
        assert r.json() == {"data": {}, "message": "This account is suspended.", "status": 403}
        r = http.post("/api/collections/users/auth-with-password", json={"identity": "u@example.com", "password": "user-pass-1"})
        assert r.status_code == 200 and r.json()["meta"] == {"greeting": "Welcome back, u@example.com!"}
        r = http.post("/api/collections/users/auth-refresh", headers=accounts["user"])
        assert r.status_code == 200 and r.json()["meta"] == {"greeting": "Welcome back, u@example.com!"}
