"""`EventView.decide` (rule and filter checks of many subscribers batched and cached) against the
one-by-one checks of `EventView.message`, which are the reference: same answers, few statements."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.core.realtime.subscriptions import Message, parse_options
from satchel.core.realtime.visibility import EventView, subscriber_request
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.ports.database import Executor
from satchel.testing import client_for, running_app, superuser_token
from satchel.testing import postgres as pg_testing
from satchel.tools.sql import batch, ir
from satchel.tools.sql.sqlite import compile_statement
from tests.apis.helpers import POSTS, create_collection

RULES: list[str | None] = [
    None,
    "",
    "published = true",
    "author = @request.auth.id",
    "published = true || author = @request.auth.id",
    "@request.auth.id != ''",
    "@request.auth.id = ''",
    "@request.auth.verified = true && published = true",
    "@request.auth.emailVisibility = true",
    "@request.auth.collectionName = 'users' && @request.auth.collectionId != ''",
    "@request.auth.email ~ 'example.com'",
    "@request.auth.email = ''",
    '@request.auth.role.name = "editor"',
    "@request.auth.role.name ?= 'editor' || @request.auth.name = title",
    "@request.auth.name != '' && title ~ @request.auth.name",
    "views > @request.auth.age",
    "views = @request.auth.age",
    "@request.auth.age:isset = true",
    "author.name = @request.auth.name",
    "author.role.name = @request.auth.role.name",
    "author.verified = @request.auth.verified",
    "@collection.follows.follower ?= @request.auth.id && @collection.follows.author ?= author",
    "@collection.roles.name ?= @request.auth.verified",  # TEXT column against a bound number: affinity
    "@collection.roles.name ?= @request.auth.age",
    "tags ?= @request.auth.name",
    "meta.level = @request.auth.age",
    "@request.query.k = '1' && author = @request.auth.id",
    "@request.headers.x_token = @request.auth.name",
    "@request.context = 'realtime' && @request.auth.id != ''",
    "@now != '' && author = @request.auth.id",
    "created < @now || @request.auth.verified = true",
    "nonexistent = @request.auth.id",  # fails to compile: denies
    "@request.auth.role.nonexistent = 1",
    "author = @request.auth.id && (",  # syntax error: denies
]
FILTERS = ["", "title ~ 'keep'", "author.name != ''", "@request.auth.id != ''", "views > 1 && published = true"]


FALLBACK = "checking one by one"


@pytest.fixture(autouse=True)
def batches_never_fall_back(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A batch that failed would hide behind the single probes' right answers: none may fail here."""
    caplog.set_level(logging.DEBUG, logger="satchel.realtime")
    yield
    if "falls_back" not in request.node.name:
        assert not [r for r in caplog.records if FALLBACK in r.getMessage()]


def topic(target: str, **options: Any) -> str:
    return f"{target}?options={urllib.parse.quote(json.dumps(options), safe='')}" if options else target


async def patch(client: httpx2.AsyncClient, su: dict[str, str], url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.patch(url, json=body, headers=su)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def post(client: httpx2.AsyncClient, su: dict[str, str], url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(url, json=body, headers=su)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def seed(app: App, client: httpx2.AsyncClient, su: dict[str, str]) -> dict[str, str]:
    """The roles, users, posts, follows and members collections and their records: the users' ids by name."""
    roles = await create_collection(
        client, su, {"name": "roles", "type": "base", "listRule": "", "fields": [{"name": "name", "type": "text"}]}
    )
    r = await client.get("/api/collections/users", headers=su)
    fields = [
        *r.json()["fields"],
        {"name": "role", "type": "relation", "collectionId": roles["id"], "maxSelect": 1},
        {"name": "age", "type": "number"},
    ]
    await patch(client, su, "/api/collections/users", {"fields": fields, "listRule": "id = @request.auth.id"})
    await create_collection(client, su, POSTS)
    await create_collection(
        client,
        su,
        {
            "name": "follows",
            "type": "base",
            "listRule": "",
            "fields": [
                {"name": "follower", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
            ],
        },
    )
    await create_collection(client, su, {"name": "members", "type": "auth", "fields": []})
    editor = await post(client, su, "/api/collections/roles/records", {"name": "editor"})
    one = await post(client, su, "/api/collections/roles/records", {"name": "1"})
    users = {
        "alice": {"name": "alice", "verified": True, "role": editor["id"], "age": 30, "emailVisibility": True},
        "bob": {"name": "keep", "verified": False, "role": one["id"], "age": 1},
        "carol": {"name": "", "verified": True},
        "dave": {"name": "a", "verified": False, "role": editor["id"], "age": 2},
    }
    ids: dict[str, str] = {}
    for name, extra in users.items():
        password = {"password": "password-123", "passwordConfirm": "password-123"}
        body = {"email": f"{name}@example.com", **password, **extra}
        ids[name] = (await post(client, su, "/api/collections/users/records", body))["id"]
    await post(client, su, "/api/collections/follows/records", {"follower": ids["bob"], "author": ids["alice"]})
    return ids


async def world_of(app: App, client: httpx2.AsyncClient, su: dict[str, str], ids: dict[str, str]) -> dict[str, Any]:
    """The subscribers' auth records, read through `app` from a seeded database."""
    records: dict[str, Record] = {}
    users_c = app.collections.get("users")
    assert users_c is not None
    for name, record_id in ids.items():
        found = await app.records.get_by_id(users_c, record_id)
        assert found is not None
        records[name] = found
    members = app.collections.get("members")
    supers = app.collections.get("_superusers")
    assert members is not None and supers is not None
    su_list = await client.get("/api/collections/_superusers/records", headers=su)
    su_record = await app.records.get_by_id(supers, su_list.json()["items"][0]["id"])
    assert su_record is not None
    # an auth record that is not stored, and one of another auth collection, with the same id as alice
    ghost = Record(users_c, {f.name: f.zero() for f in users_c.fields} | {"id": "g" * 15, "email": "g@x.io"})
    member = Record(members, {f.name: f.zero() for f in members.fields} | {"id": records["alice"].id, "verified": True})
    auths: list[Record | None] = [None, *records.values(), ghost, member, su_record]
    return {"auths": auths, "users": records, "su": su}


@pytest.fixture
async def world(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> dict[str, Any]:
    """A world of its own, for the tests that change the schema or records."""
    return await world_of(app, client, su_headers, await seed(app, client, su_headers))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], dict[str, str]]]:
    """One database seeded per module for the tests that only decide (seeding per case was most of
    their time, on PostgreSQL above all); each test opens its own app on it, so no probe cache is
    shared between tests."""
    data_dir = tmp_path_factory.mktemp("batched") / "pb_data"

    async def make() -> tuple[dict[str, str], dict[str, str]]:
        async with running_app(data_dir) as app:
            if pg_testing.enabled():
                pg_testing.hold(data_dir)
            async with client_for(app) as client:
                su = {"Authorization": await superuser_token(app, client)}
                return await seed(app, client, su), su

    ids, su = asyncio.run(make())
    yield data_dir, ids, su
    if pg_testing.enabled():
        pg_testing.release(data_dir)
        asyncio.run(pg_testing.drop_schemas())


@pytest.fixture
async def reopened(
    seeded: tuple[Path, dict[str, str], dict[str, str]],
) -> AsyncIterator[tuple[App, dict[str, Any]]]:
    """A fresh app on the seeded database, and its world (read only: nothing is written)."""
    data_dir, ids, su = seeded
    async with running_app(data_dir) as app:
        if pg_testing.enabled():
            pg_testing.hold(data_dir)
        async with client_for(app) as client:
            yield app, await world_of(app, client, su, ids)


def posts_record(app: App, **values: Any) -> Record:
    posts = app.collections.get("posts")
    assert posts is not None
    return Record(posts, {f.name: f.zero() for f in posts.fields} | {"id": "p" * 15} | values)


def events(app: App, world: dict[str, Any]) -> list[Record]:
    alice, bob = world["users"]["alice"].id, world["users"]["bob"].id
    return [
        posts_record(app, title="keep 1", published=True, author=alice, views=3, tags=["a"], meta={"level": 30}),
        posts_record(app, title="1", published=False, author=bob, views=1, tags=["keep"], meta={"level": "x"}),
        posts_record(app, title="", published=False, author="", views=0),
    ]


def subscriptions(auths: list[Record | None], topics: list[str]) -> list[tuple[str, RequestInfo]]:
    """Every auth on every topic, as the broker builds them (each with its own request object)."""
    return [(t, subscriber_request(auth, parse_options(t))) for auth in auths for t in topics]


def shown(outcome: Message | None) -> tuple[str, bytes] | None:
    return None if outcome is None else (outcome.topic, outcome.data)


async def one_by_one(
    app: App, action: str, record: Record, pairs: list[tuple[str, RequestInfo]], rule: str | None
) -> list[tuple[str, bytes] | None]:
    view = EventView(app, action, Record(record.collection, dict(record.data)))
    return [shown(await view.message(t, request, rule)) for t, request in pairs]


async def batched(
    app: App, action: str, record: Record, pairs: list[tuple[str, RequestInfo]], rule: str | None
) -> list[tuple[str, bytes] | None]:
    view = EventView(app, action, Record(record.collection, dict(record.data)))
    return [shown(m) for m in await view.decide(pairs, rule)]


TOPICS = [
    "posts/*",
    topic("posts/*", query={"k": "1"}, headers={"X-Token": "keep"}),
    *(topic("posts/*", query={"filter": f}) for f in FILTERS if f),
]


@pytest.mark.parametrize("rule", RULES)
async def test_batched_decisions_equal_one_by_one(reopened: tuple[App, dict[str, Any]], rule: str | None) -> None:
    app, world = reopened
    pairs = subscriptions(world["auths"], TOPICS)
    seen: set[bool] = set()
    for _ in range(2):  # the second round runs on probes cached by the first
        for record in events(app, world):
            expected = await one_by_one(app, "create", record, pairs, rule)
            assert await batched(app, "create", record, pairs, rule) == expected
            seen.update(m is not None for m in expected)
    if rule is not None and rule.strip() and "nonexistent" not in rule and "(" not in rule:
        assert seen == {True, False}, "the rule should let some subscriptions through and deny others"


async def test_auth_collection_events_settle_the_manage_rule(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    await patch(
        client,
        world["su"],
        "/api/collections/users",
        {"listRule": "verified = true || id = @request.auth.id", "manageRule": "@request.auth.role.name = 'editor'"},
    )
    users = app.collections.get("users")
    assert users is not None
    pairs = subscriptions(world["auths"], ["users/*", topic("users/*", query={"filter": "name != ''"})])
    for person in world["users"].values():
        event = Record(users, dict(person.data))
        for rule in (users.listRule, "", "@request.auth.age > age"):
            expected = await one_by_one(app, "update", event, pairs, rule)
            assert await batched(app, "update", event, pairs, rule) == expected


async def test_cached_probes_follow_auth_and_schema_changes(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    rule = "@request.auth.verified = true && @request.auth.role.name = 'editor'"
    record = events(app, world)[0]
    pairs = subscriptions(world["auths"], ["posts/*"])
    before = await batched(app, "create", record, pairs, rule)
    assert before == await one_by_one(app, "create", record, pairs, rule)
    # the broker replaces a client's auth with the updated record: plain fields are part of the cache key
    dave = world["users"]["dave"]
    updated = Record(dave.collection, dict(dave.data) | {"verified": True})
    pairs = subscriptions([updated if a is dave else a for a in world["auths"]], ["posts/*"])
    after = await batched(app, "create", record, pairs, rule)
    assert after == await one_by_one(app, "create", record, pairs, rule)
    assert after != before
    # relation values are read by SQL at each event
    await patch(
        client, world["su"], f"/api/collections/users/records/{world['users']['carol'].id}", {"role": dave.get("role")}
    )
    assert await batched(app, "create", record, pairs, rule) == await one_by_one(app, "create", record, pairs, rule)
    # a schema change (a new field in posts) drops the cached probes of the former schema
    posts = await client.get("/api/collections/posts", headers=world["su"])
    fields = [*posts.json()["fields"], {"name": "level", "type": "number"}]
    await patch(client, world["su"], "/api/collections/posts", {"fields": fields})
    record = posts_record(app, title="t", published=True, level=5)
    for rule in ("level > @request.auth.age", "level > 1 && author = @request.auth.id"):
        assert await batched(app, "create", record, pairs, rule) == await one_by_one(app, "create", record, pairs, rule)


@contextmanager
def count_statements(app: App) -> Iterator[list[Executor]]:
    """The executors handed out while active (each counts the statements run through it)."""
    opened: list[Executor] = []
    original = app.db.executor

    def executor() -> Executor:
        ex = original()
        opened.append(ex)
        return ex

    app.db.executor = executor  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        app.db.executor = original  # type: ignore[method-assign]


def statements(opened: list[Executor]) -> int:
    return sum(int(getattr(ex, "statements", 0)) for ex in {id(ex): ex for ex in opened}.values())


@pytest.mark.parametrize(
    ("rule", "bound"),
    [
        ("author = @request.auth.id", 2),  # one shape for the users, one for the guest
        ("@request.auth.verified = true && published = true", 2),
        ("@request.auth.role.name = 'editor'", 2),
        ("@collection.follows.follower ?= @request.auth.id && @collection.follows.author ?= author", 2),
    ],
)
async def test_statements_for_many_distinct_auths_are_bounded(
    reopened: tuple[App, dict[str, Any]], rule: str, bound: int
) -> None:
    app, world = reopened
    users = app.collections.get("users")
    assert users is not None
    many: list[Record | None] = [None]
    many += [
        Record(users, {f.name: f.zero() for f in users.fields} | {"id": f"u{n:014d}", "verified": n % 2 == 0})
        for n in range(300)
    ]
    pairs = subscriptions(many, ["posts/*", topic("posts/*", query={"k": "1"})])
    record = events(app, world)[0]
    for _ in range(2):  # first event: compiles and caches; second: cached
        view = EventView(app, "create", Record(record.collection, dict(record.data)))
        with count_statements(app) as opened:
            await view.decide(pairs, rule)
        assert statements(opened) <= bound
    with count_statements(app) as opened:
        await one_by_one(app, "create", record, pairs[:50], rule)
    assert statements(opened) >= 25  # the reference pays one probe per distinct auth


async def test_chunks_stay_under_the_parameter_limit_and_agree(app: App, world: dict[str, Any]) -> None:
    users = app.collections.get("users")
    assert users is not None
    probe = ir.Select((ir.Raw("1"),), ir.Table("users", "u"), where=ir.eq(ir.col("u", "id"), ir.Param("x")), limit=1)
    template = batch.template(probe)
    ids = [[u.id] for u in world["users"].values()] + [["missing"]] * 7
    statements_ = batch.exists_each(template.query, ids, max_params=12)
    assert len(statements_) == 3
    assert all(len(compile_statement(st)[1]) <= 12 for st in statements_)
    passed: set[int] = set()
    for st in statements_:
        passed.update(int(row[batch.INDEX]) for row in await app.db.executor().fetch_all(st))
    assert passed == set(range(len(world["users"])))


async def test_a_failing_batch_falls_back_to_single_probes(
    app: App, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(query: ir.Select, rows: Any, **_: Any) -> list[ir.Select]:
        return [ir.Select((ir.col("nowhere", "i"),), ir.Table("no_such_table", "nowhere"))]

    monkeypatch.setattr(batch, "exists_each", broken)
    pairs = subscriptions(world["auths"], TOPICS)
    for rule in ("published = true || author = @request.auth.id", "@request.auth.role.name = 'editor'"):
        record = events(app, world)[0]
        assert await batched(app, "create", record, pairs, rule) == await one_by_one(app, "create", record, pairs, rule)
    assert [r for r in caplog.records if FALLBACK in r.getMessage()]


def test_templates_number_values_and_keep_shapes_apart() -> None:
    shared = ir.Param("")

    def probe(value: Any) -> ir.Select:
        where = ir.Binary("OR", ir.eq(ir.col("t", "a"), ir.Param(value)), ir.eq(ir.col("t", "b"), shared))
        return ir.Select((ir.Raw("1"),), ir.Table("t"), where=ir.Binary("AND", where, ir.eq(ir.col("t", "c"), shared)))

    one, two = batch.template(probe("x")), batch.template(probe(1))
    assert one.query == two.query and one.values == ("x", "") and two.values == (1, "")
    other = batch.template(ir.Select((ir.Raw("1"),), where=ir.eq(ir.Param(1), ir.Param(1))))
    assert other.query != one.query and other.values == (1, 1)
    # 1, 1.0 and True differ for SQLite: never folded into one bound value
    (st,) = batch.exists_each(one.query, [(1, ""), (1.0, ""), (True, "")])
    assert isinstance(st.source, ir.Values) and st.source.columns == (batch.INDEX, "p0")
