"""A real `satchel serve` with seeded collections and records, for the contract tests.

The seed covers every field type (so the record schemas of the document are exercised by real
answers), a view collection, an auth collection with records, and a file upload.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.dashboard_server import Server, start, upsert_superuser

EMAIL = "owner@example.com"
PASSWORD = "Owner12345!"
MEMBER_EMAIL = "member@example.com"
MEMBER_PASSWORD = "member-password-1"

MEMBERS = {
    "name": "members",
    "type": "auth",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "updateRule": "id = @request.auth.id",
    "deleteRule": None,
    "fields": [{"name": "nickname", "type": "text", "max": 40}],
}
POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "deleteRule": "",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max": 100},
        {"name": "body", "type": "editor"},
        {"name": "views", "type": "number", "min": 0, "max": 1000000},
        {"name": "published", "type": "bool"},
        {"name": "status", "type": "select", "values": ["draft", "live"], "maxSelect": 1},
        {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
        {"name": "meta", "type": "json"},
        {"name": "link", "type": "url"},
        {"name": "contact", "type": "email"},
        {"name": "due", "type": "date"},
        {"name": "where", "type": "geoPoint"},
        {"name": "author", "type": "relation", "collectionId": "members", "maxSelect": 1},
        {"name": "cover", "type": "file", "maxSelect": 1, "maxSize": 100000},
        {"name": "secret", "type": "text", "hidden": True},
        {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ],
}
POST_STATS = {
    "name": "post_stats",
    "type": "view",
    "listRule": "",
    "viewRule": "",
    "viewQuery": "SELECT id, title, views FROM posts",
}


@dataclass
class Seeded:
    server: Server
    token: str
    data_dir: Path
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


def _multipart(fields: dict[str, str], file_field: str, name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload(server: Server, token: str, path: str, fields: dict[str, str]) -> Any:
    body, ctype = _multipart(fields, "cover", "notes.txt", b"hello from the contract tests\n")
    req = urllib.request.Request(
        server.url + path, data=body, method="POST", headers={"Content-Type": ctype, "Authorization": token}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def seed(server: Server, token: str) -> dict[str, str]:
    for collection in (MEMBERS, POSTS, POST_STATS):
        server.api("POST", "/api/collections", collection, token)
    member = server.api(
        "POST",
        "/api/collections/members/records",
        {"email": MEMBER_EMAIL, "password": MEMBER_PASSWORD, "passwordConfirm": MEMBER_PASSWORD, "nickname": "m"},
    )
    post = server.api(
        "POST",
        "/api/collections/posts/records",
        {
            "title": "Hello",
            "body": "<p>first</p>",
            "views": 3,
            "published": True,
            "status": "live",
            "tags": ["a", "b"],
            "meta": {"k": [1, 2]},
            "link": "https://example.com",
            "contact": "x@example.com",
            "due": "2026-01-02 03:04:05.000Z",
            "where": {"lon": 1.5, "lat": 2.5},
            "author": member["id"],
            "secret": "s",
        },
        token,
    )
    with_file = _upload(server, token, "/api/collections/posts/records", {"title": "With a file"})
    return {"member": member["id"], "post": post["id"], "filePost": with_file["id"], "file": with_file["cover"]}


def start_seeded(data_dir: Path) -> Seeded:
    upsert_superuser(data_dir, EMAIL, PASSWORD)
    server = start(data_dir)
    try:
        token = server.sign_in(EMAIL, PASSWORD)
        ids = seed(server, token)
    except BaseException:
        server.stop()
        raise
    return Seeded(server, token, data_dir, ids)
