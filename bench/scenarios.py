"""The HTTP scenarios: each one is a single request shape repeated under load.

A scenario is described once, independent of the server, and made concrete (`build`) from the ids and
tokens of one server's seeded `Dataset`; both servers therefore receive byte-identical requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from bench.load import RequestSpec
from bench.seed import SEARCH_WORD, USER_PASSWORD, Dataset


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    build: Callable[[Dataset], RequestSpec]
    needs_delete_pool: bool = False
    # fewer connections where a deep queue would only measure queueing (CPU-bound password hashing)
    connections: int | None = None


def _json(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


_POST_BODY = {"title": "hello bench", "body": "lorem ipsum dolor sit amet " * 4, "public": True}
_SEARCH = quote(f"title~'{SEARCH_WORD}'")


def _create(d: Dataset) -> RequestSpec:
    return RequestSpec("POST", "/api/collections/bench_writes/records", body=_json(_POST_BODY))


def _create_guarded(d: Dataset) -> RequestSpec:
    body = {**_POST_BODY, "author": d.user_id}
    return RequestSpec("POST", "/api/collections/bench_guarded/records", body=_json(body), auth=d.user_token)


def _auth_password(d: Dataset) -> RequestSpec:
    body = {"identity": d.user_email, "password": USER_PASSWORD}
    return RequestSpec("POST", "/api/collections/users/auth-with-password", body=_json(body))


def _auth_refresh(d: Dataset) -> RequestSpec:
    return RequestSpec("POST", "/api/collections/users/auth-refresh", auth=d.user_token)


def _view(d: Dataset) -> RequestSpec:
    return RequestSpec("GET", "/api/collections/posts/records/{id}", ids=tuple(d.view_ids))


def _get(path: str, auth: bool = False) -> Callable[[Dataset], RequestSpec]:
    def build(d: Dataset) -> RequestSpec:
        return RequestSpec("GET", path, auth=d.user_token if auth else None)

    return build


def _delete(d: Dataset) -> RequestSpec:
    if not d.delete_pools:
        raise RuntimeError("the delete scenario needs a pool: call seed.add_delete_pool first")
    ids = next(reversed(d.delete_pools.values()))
    return RequestSpec("DELETE", "/api/collections/bench_deletes/records/{id}", ids=tuple(ids), once=True)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("health", "GET /api/health: the baseline cost of the HTTP stack", _get("/api/health")),
    Scenario("create", 'POST a record into a collection with createRule ""', _create),
    Scenario(
        "create_rule",
        'POST a record as a user under createRule `@request.auth.id != "" && @request.body.public:isset = true`',
        _create_guarded,
    ),
    Scenario(
        "auth_password",
        "POST auth-with-password for a user (password hash check + token); 4 connections",
        _auth_password,
        connections=4,
    ),
    Scenario("auth_refresh", "POST auth-refresh with a user token", _auth_refresh),
    Scenario("view", "GET one record by id (cycling through seeded ids)", _view),
    Scenario(
        "list_10k",
        "GET posts (10k rows) perPage=20, with totals",
        _get("/api/collections/posts/records?perPage=20"),
    ),
    Scenario(
        "list_10k_skiptotal",
        "GET posts (10k rows) perPage=20&skipTotal=1",
        _get("/api/collections/posts/records?perPage=20&skipTotal=1"),
    ),
    Scenario(
        "list_100k_skiptotal",
        "GET posts_big (100k rows) perPage=20&skipTotal=1",
        _get("/api/collections/posts_big/records?perPage=20&skipTotal=1"),
    ),
    Scenario(
        "list_expand",
        "GET posts perPage=20&expand=author (relation to users)",
        _get("/api/collections/posts/records?perPage=20&expand=author"),
    ),
    Scenario(
        "list_rule_owner",
        "GET posts_owned perPage=20 as a user under listRule `author = @request.auth.id` (indexed)",
        _get("/api/collections/posts_owned/records?perPage=20", auth=True),
    ),
    Scenario(
        "list_search",
        f"GET posts perPage=20&filter=title~'{SEARCH_WORD}' (LIKE scan, ~5% match, with totals)",
        _get(f"/api/collections/posts/records?perPage=20&filter={_SEARCH}"),
    ),
    Scenario("delete", "DELETE distinct pre-created records (each id once)", _delete, needs_delete_pool=True),
)

BY_NAME = {s.name: s for s in SCENARIOS}
SECTIONS = ("realtime", "apis")
"""Names `--only` accepts besides the HTTP scenarios: whole sections with servers of their own."""


def select(only: str | None) -> list[Scenario]:
    """`--only a,b` keeps the given scenarios in the canonical order; unknown names are an error."""
    if not only:
        return list(SCENARIOS)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in BY_NAME and w not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join([*BY_NAME, *SECTIONS])}")
    return [s for s in SCENARIOS if s.name in wanted]
