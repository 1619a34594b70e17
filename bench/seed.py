"""Give both servers identical data through their public HTTP APIs.

Seeding goes through the API (not the database file) so both servers build their own indexes and
caches exactly as an application would. Record ids are chosen by the harness, which makes the two
data sets identical and lets the load scripts address records without parsing any response.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2

from bench.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD

USER_PASSWORD = "User12345!"  # noqa: S105 - a throwaway local benchmark credential
GUARDED_RULE = '@request.auth.id != "" && @request.body.public:isset = true'
OWNED_RULE = "author = @request.auth.id"
SEARCH_WORD = "quartz"  # appears in about one title in twenty, see `_title`
BATCH_SIZE = 1000
BATCH_CONCURRENCY = 2
SINGLE_CONCURRENCY = 16
REQUEST_TIMEOUT_S = 120.0

_WORDS = [
    *("alpha", "bravo", "cobalt", "delta", "ember", "falcon", "garnet", "harbor", "indigo", "juniper"),
    *("kelvin", "lumen", "meadow", "nectar", "onyx", "pepper", "quill", "raven", "sable", "tundra"),
    *("umber", "velvet", "willow", "xenon", "yonder", "zephyr"),
]


@dataclass(frozen=True)
class SeedSizes:
    """Row counts; `--quick` shrinks them so a whole run stays under two minutes."""

    users: int = 20
    posts: int = 10_000
    posts_big: int = 100_000
    posts_owned: int = 10_000
    delete_pool: int = 15_000
    view_ids: int = 1000

    @staticmethod
    def quick() -> SeedSizes:
        return SeedSizes(users=8, posts=1_000, posts_big=5_000, posts_owned=1_000, delete_pool=3_000, view_ids=500)

    @staticmethod
    def tiny() -> SeedSizes:
        return SeedSizes(users=3, posts=60, posts_big=120, posts_owned=60, delete_pool=50, view_ids=20)


@dataclass
class Dataset:
    """What the scenarios need to address the seeded data on one server."""

    url: str
    superuser_token: str
    user_id: str
    user_email: str
    user_token: str
    view_ids: list[str]
    sizes: SeedSizes
    batch: bool = True
    delete_pools: dict[str, list[str]] = field(default_factory=dict)


class SeedError(RuntimeError):
    """The server refused part of the seed; the message holds the request and the response."""


def _check(resp: httpx2.Response, what: str) -> Any:
    if resp.status_code >= 300:
        raise SeedError(f"{what}: HTTP {resp.status_code}: {resp.text[:1000]}")
    return resp.json() if resp.content else None


def record_id(prefix: str, n: int) -> str:
    """A valid 15-character default id ([a-z0-9]); the prefix keeps each collection's ids apart."""
    rid = f"{prefix}{n:0{15 - len(prefix)}d}"
    assert len(rid) == 15, rid
    return rid


def user_ids(sizes: SeedSizes) -> list[str]:
    return [record_id("u", i) for i in range(sizes.users)]


def _title(rng: random.Random, i: int) -> str:
    words = rng.sample(_WORDS, 3)
    if i % 20 == 7:
        words[1] = SEARCH_WORD
    return f"post {i} " + " ".join(words)


def post_row(rng: random.Random, i: int, prefix: str, authors: Sequence[str]) -> dict[str, Any]:
    body = " ".join(rng.choice(_WORDS) for _ in range(30))
    return {
        "id": record_id(prefix, i),
        "title": _title(rng, i),
        "body": body,
        "public": i % 2 == 0,
        "author": authors[i % len(authors)] if authors else "",
    }


def _post_fields(users_id: str) -> list[dict[str, Any]]:
    return [
        {"name": "title", "type": "text"},
        {"name": "body", "type": "text"},
        {"name": "public", "type": "bool"},
        {"name": "author", "type": "relation", "collectionId": users_id, "maxSelect": 1, "cascadeDelete": False},
    ]


def _collection(name: str, users_id: str, **rules: str | None) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "type": "base",
        "fields": _post_fields(users_id),
        "indexes": [f"CREATE INDEX `idx_{name}_author` ON `{name}` (`author`)"],
        "listRule": None,
        "viewRule": None,
        "createRule": None,
        "updateRule": None,
        "deleteRule": None,
    }
    base.update(rules)
    return base


def collection_defs(users_id: str) -> list[dict[str, Any]]:
    """One collection per concern, so a scenario that writes never changes what another one reads.

    `BENCH_SEARCH=1` gives `bench_writes` a full-text index over title and body (Satchel's `search`
    option, which PocketBase ignores), to measure what the index costs a create.
    """
    public = {"listRule": "", "viewRule": ""}
    writes = _collection("bench_writes", users_id, createRule="")
    if os.environ.get("BENCH_SEARCH") == "1":
        writes["search"] = {"fields": ["title", "body"]}
    return [
        _collection("posts", users_id, **public),
        _collection("posts_big", users_id, **public),
        _collection("posts_owned", users_id, listRule=OWNED_RULE, viewRule=OWNED_RULE),
        writes,
        _collection("bench_guarded", users_id, createRule=GUARDED_RULE),
        _collection("bench_deletes", users_id, deleteRule="", viewRule=""),
    ]


async def superuser_login(client: httpx2.AsyncClient) -> str:
    resp = await client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
    )
    token: str = _check(resp, "superuser auth")["token"]
    return token


async def user_login(client: httpx2.AsyncClient, email: str) -> str:
    resp = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": email, "password": USER_PASSWORD}
    )
    token: str = _check(resp, "user auth")["token"]
    return token


async def enable_batch(client: httpx2.AsyncClient, headers: dict[str, str]) -> bool:
    """Batches make a 100k-row seed take seconds; a server without them falls back to single creates."""
    body = {"batch": {"enabled": True, "maxRequests": BATCH_SIZE, "timeout": 60, "maxBodySize": 0}}
    resp = await client.patch("/api/settings", json=body, headers=headers)
    return resp.status_code == 200


async def _batch(
    client: httpx2.AsyncClient, headers: dict[str, str], collection: str, rows: list[dict[str, Any]]
) -> None:
    url = f"/api/collections/{collection}/records"
    reqs = [{"method": "POST", "url": url, "body": row} for row in rows]
    resp = await client.post("/api/batch", json={"requests": reqs}, headers=headers, timeout=REQUEST_TIMEOUT_S)
    _check(resp, f"batch create into {collection}")


async def create_rows(
    client: httpx2.AsyncClient,
    headers: dict[str, str],
    collection: str,
    rows: list[dict[str, Any]],
    use_batch: bool,
) -> None:
    """Insert rows with a little concurrency: the writer is single, but overlapping I/O still helps."""
    if use_batch:
        chunks = [rows[i : i + BATCH_SIZE] for i in range(0, len(rows), BATCH_SIZE)]
        sem = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def one_batch(chunk: list[dict[str, Any]]) -> None:
            async with sem:
                await _batch(client, headers, collection, chunk)

        await asyncio.gather(*(one_batch(c) for c in chunks))
        return
    sem = asyncio.Semaphore(SINGLE_CONCURRENCY)
    url = f"/api/collections/{collection}/records"

    async def one(row: dict[str, Any]) -> None:
        async with sem:
            _check(await client.post(url, json=row, headers=headers), f"create into {collection}")

    await asyncio.gather(*(one(r) for r in rows))


def user_rows(sizes: SeedSizes) -> list[dict[str, Any]]:
    return [
        {
            "id": uid,
            "email": f"user{i}@bench.test",
            "password": USER_PASSWORD,
            "passwordConfirm": USER_PASSWORD,
            "verified": True,
            "name": f"User {i}",
        }
        for i, uid in enumerate(user_ids(sizes))
    ]


async def seed(url: str, sizes: SeedSizes, seed_value: int = 42) -> Dataset:
    """Schema, users and the read-only collections; the delete pools are added per run by `add_delete_pool`."""
    async with httpx2.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        su = await superuser_login(client)
        headers = {"Authorization": su}
        use_batch = await enable_batch(client, headers)
        users = _check(await client.get("/api/collections/users", headers=headers), "users collection")
        for definition in collection_defs(users["id"]):
            resp = await client.post("/api/collections", json=definition, headers=headers)
            _check(resp, f"create {definition['name']}")
        # single creates: password hashing is CPU-bound, a batch would serialize it on one core
        await create_rows(client, headers, "users", user_rows(sizes), use_batch=False)
        authors = user_ids(sizes)
        rng = random.Random(seed_value)  # noqa: S311 - reproducible test data, not secrets
        for name, prefix, count in (
            ("posts", "p", sizes.posts),
            ("posts_big", "b", sizes.posts_big),
            ("posts_owned", "o", sizes.posts_owned),
        ):
            rows = [post_row(rng, i, prefix, authors) for i in range(count)]
            await create_rows(client, headers, name, rows, use_batch)
        email = "user0@bench.test"
        token = await user_login(client, email)
        step = max(1, sizes.posts // max(1, sizes.view_ids))
        view_ids = [record_id("p", i) for i in range(0, sizes.posts, step)][: sizes.view_ids]
        return Dataset(url, su, authors[0], email, token, view_ids, sizes, use_batch)


async def add_delete_pool(data: Dataset, tag: str, count: int | None = None) -> list[str]:
    """Fresh records for one delete run, so every DELETE in it hits a distinct existing row."""
    n = data.sizes.delete_pool if count is None else count
    prefix = f"d{tag}"
    rng = random.Random(tag)  # noqa: S311 - reproducible test data, not secrets
    rows = [post_row(rng, i, prefix, []) for i in range(n)]
    for row in rows:
        del row["author"]
    async with httpx2.AsyncClient(base_url=data.url, timeout=REQUEST_TIMEOUT_S) as client:
        await create_rows(client, {"Authorization": data.superuser_token}, "bench_deletes", rows, data.batch)
    ids = [str(r["id"]) for r in rows]
    data.delete_pools[tag] = ids
    return ids
