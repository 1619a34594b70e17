"""Cost of realtime rule checks when every subscriber is a different user.

`python -m bench.realtime_rules [--users N] [--events N]` builds an app in a temporary directory,
creates N users (1,000 by default) and, for each rule below, sets it as the `posts` list rule,
connects one realtime client per user subscribed to `posts/*` and times the fan-out of one
create event. Two fan-outs are measured per rule:

* `one-by-one`: the fan-out as it was before batching (each (topic, auth) decided on its own by
  `EventView.message`, so a rule that reads the auth costs one probe query per distinct user);
* `deliver`: `RealtimeBroker.deliver` as it stands, every subscription of a target decided at once
  by `EventView.decide` (one statement per rule shape and chunk).

SQL statements are counted through the database's executors (`statements` of each executor the
fan-out opens), and every client's outbox is compared between the two fan-outs, so the figures
only count when both deliver the same messages. The first event after a rule is set is shown
apart (`EventView.decide` compiles and caches every subscriber's probe then); the other figures
are medians over the remaining `--events` - 1 events, with CPU time beside wall time because the
fan-out runs inline on one thread and CPU time is steadier on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from satchel.core.app import App
from satchel.core.realtime.broker import RealtimeBroker, RecordChange
from satchel.core.realtime.subscriptions import Client, Message, record_targets
from satchel.core.realtime.visibility import EventView, subscriber_request
from satchel.core.records.model import Record
from satchel.ports.database import Executor
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools import passwords

RULES: dict[str, str] = {
    "public (no auth)": "published = true",
    "owner": "author = @request.auth.id",
    "owner or public": "published = true || author = @request.auth.id",
    "verified": "@request.auth.verified = true && published = true",
    "role via relation": '@request.auth.role.name = "editor"',
    "@collection join": "@collection.follows.follower ?= @request.auth.id && @collection.follows.author ?= author",
}
CREATE_CONCURRENCY = 32


@dataclass
class Figure:
    """One fan-out mode on one rule: the first event (nothing cached yet) and the median of the others."""

    rule: str
    mode: str
    first_statements: int
    first_ms: float
    statements: int
    ms: float
    cpu_ms: float
    delivered: int


class StatementCounter:
    """Wraps `app.db.executor` and sums the statements of every executor handed out while active."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.executors: list[Executor] = []

    @contextmanager
    def counting(self) -> Iterator[None]:
        original = self.app.db.executor

        def executor() -> Executor:
            ex = original()
            self.executors.append(ex)
            return ex

        self.executors = []
        self.app.db.executor = executor  # type: ignore[method-assign]
        try:
            yield
        finally:
            self.app.db.executor = original  # type: ignore[method-assign]

    @property
    def statements(self) -> int:
        return sum(int(getattr(ex, "statements", 0)) for ex in set(self.executors))


async def one_by_one_fan_out(broker: RealtimeBroker, event: RecordChange, record: Record) -> None:
    """`RealtimeBroker._fan_out` as it was before batching: one `EventView.message` call per
    (topic, bound auth) group, so one probe query per distinct user of an auth-reading rule."""
    view = EventView(broker.app, event.action, record)
    collection = record.collection
    for target, is_list in record_targets(collection, record.id).items():
        rule = collection.listRule if is_list else collection.viewRule
        decided: dict[tuple[str, tuple[str, str] | None], Message | None] = {}
        for client in broker.subscribers(target):
            for topic, options in client.topics_for(target):
                key = (topic, client.auth_key)
                if key not in decided:
                    decided[key] = await view.message(topic, subscriber_request(client.auth, options), rule)
                outcome = decided[key]
                if outcome is not None and not client.discarded:
                    broker._send(client, outcome)


async def one_by_one_deliver(broker: RealtimeBroker, event: RecordChange) -> None:
    """`RealtimeBroker.deliver` with its fan-out replaced by `one_by_one_fan_out` for this one event."""
    original = broker._fan_out

    async def fan_out(e: RecordChange, record: Record) -> None:
        await one_by_one_fan_out(broker, e, record)

    broker._fan_out = fan_out  # type: ignore[method-assign, assignment]
    try:
        await broker.deliver(event)
    finally:
        broker._fan_out = original  # type: ignore[method-assign]


def drain(clients: list[Client]) -> list[list[Message]]:
    out: list[list[Message]] = []
    for client in clients:
        got: list[Message] = []
        while not client.queue.empty():
            item = client.queue.get_nowait()
            assert item is not None
            got.append(item)
        out.append(got)
    return out


async def setup(app: App, users: int) -> tuple[list[Record], Record]:
    """Collections `roles`, `follows` and `posts`; `users` gains a `role`; N users, a third of them editors."""
    async with client_for(app) as http:
        su = {"Authorization": await superuser_token(app, http)}

        async def call(method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
            r = await http.request(method, url, json=body, headers=su)
            if r.status_code != 200:
                raise RuntimeError(f"{method} {url}: {r.status_code} {r.text}")
            result: dict[str, Any] = r.json()
            return result

        roles = await call(
            "POST",
            "/api/collections",
            {"name": "roles", "type": "base", "listRule": "", "fields": [{"name": "name", "type": "text"}]},
        )
        users_coll = await call("GET", "/api/collections/users", {})
        fields = [
            *users_coll["fields"],
            {"name": "role", "type": "relation", "collectionId": roles["id"], "maxSelect": 1},
        ]
        await call("PATCH", "/api/collections/users", {"fields": fields})
        await call(
            "POST",
            "/api/collections",
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
        await call(
            "POST",
            "/api/collections",
            {
                "name": "posts",
                "type": "base",
                "listRule": "",
                "fields": [
                    {"name": "title", "type": "text"},
                    {"name": "published", "type": "bool"},
                    {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                ],
            },
        )
        editor = await call("POST", "/api/collections/roles/records", {"name": "editor"})
        viewer = await call("POST", "/api/collections/roles/records", {"name": "viewer"})

        ids: list[str] = []
        limit = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def create_user(n: int) -> None:
            body = {
                "email": f"u{n}@example.com",
                "password": "password-123",
                "passwordConfirm": "password-123",
                "verified": n % 2 == 0,
                "role": editor["id"] if n % 3 == 0 else viewer["id"],
            }
            async with limit:
                ids.append((await call("POST", "/api/collections/users/records", body))["id"])

        await asyncio.gather(*(create_user(n) for n in range(users)))
        ids.sort()
        author = ids[0]
        for follower in ids[::4]:
            await call("POST", "/api/collections/follows/records", {"follower": follower, "author": author})
        users_c = app.collections.get("users")
        posts = app.collections.get("posts")
        assert users_c is not None and posts is not None
        records = [await app.records.get_by_id(users_c, i) for i in ids]
        auths = [r for r in records if r is not None]
        post = Record(
            posts,
            {f.name: f.zero() for f in posts.fields}
            | {"id": "p" * 15, "title": "t", "published": True, "author": author},
        )
        return auths, post


async def measure(
    app: App,
    rule_name: str,
    fan_out: Callable[[RecordChange], Awaitable[None]],
    mode: str,
    post: Record,
    clients: list[Client],
    events: int,
) -> tuple[Figure, list[list[list[Message]]]]:
    """Fan `events` create events out; wall and CPU (process) times, statements and every outbox."""
    counter = StatementCounter(app)
    walls: list[float] = []
    cpus: list[float] = []
    statements: list[int] = []
    outboxes: list[list[list[Message]]] = []
    for _ in range(events):
        with counter.counting():
            wall, cpu = time.perf_counter(), time.process_time()
            await fan_out(RecordChange("create", post))
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
        statements.append(counter.statements)
        outboxes.append(drain(clients))
    delivered = sum(len(o) for o in outboxes[-1])
    warm = slice(1, None) if events > 1 else slice(None)
    figure = Figure(
        rule_name,
        mode,
        statements[0],
        walls[0],
        max(statements[warm]),
        statistics.median(walls[warm]),
        statistics.median(cpus[warm]),
        delivered,
    )
    return figure, outboxes


async def run(users: int, events: int) -> list[Figure]:
    passwords.configure(time_cost=1, memory_cost=8, parallelism=1)  # seeding speed only
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_app(Path(tmp) / "pb_data") as app:
            auths, post = await setup(app, users)
            broker = app.realtime
            clients = []
            for auth in auths:
                client = broker.connect("127.0.0.1")
                broker.subscribe(client, ["posts/*"], auth)
                clients.append(client)
            for name, rule in RULES.items():
                await app.collections_service.update("posts", {"listRule": rule})
                current = app.collections.get("posts")
                assert current is not None
                event_post = Record(current, dict(post.data))
                before, seen = await measure(
                    app, name, lambda e: one_by_one_deliver(broker, e), "one-by-one", event_post, clients, events
                )
                after, seen_batched = await measure(
                    app, name, broker.deliver, "deliver", event_post, clients, events
                )

                def payloads(events: list[list[list[Message]]]) -> list[list[list[tuple[str, bytes]]]]:
                    return [[[(m.topic, m.data) for m in box] for box in boxes] for boxes in events]

                if payloads(seen) != payloads(seen_batched):
                    raise AssertionError(f"{name}: the batched fan-out delivered other messages")
                figures += [before, after]
    return figures


def render(figures: list[Figure], users: int) -> str:
    lines = [
        f"{users} subscribers, one per user, on posts/*: one create event's fan-out. `first` is the first",
        "event after the rule was set (nothing cached); the other columns are the median of the next ones",
        "(CPU = this process's CPU time, steadier than wall time on a busy machine).",
        "",
        "| rule | mode | statements (first) | ms (first) | statements | ms | CPU ms | delivered |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {f.rule} | {f.mode} | {f.first_statements} | {f.first_ms:.1f} | {f.statements} | {f.ms:.1f} | "
        f"{f.cpu_ms:.1f} | {f.delivered} |"
        for f in figures
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.realtime_rules", description=__doc__)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--events", type=int, default=5)
    args = p.parse_args(argv)
    print(render(asyncio.run(run(args.users, args.events)), args.users))


if __name__ == "__main__":
    main()
