"""API keys in core: key format, hashing, scopes, input validation, resolution, `lastUsed`, the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from satchel.core.app import App
from satchel.core.auth import api_key_store as store
from satchel.core.auth.api_key_input import parse_key_input
from satchel.core.auth.api_keys import KEY_LENGTH, MAX_KEYS_PER_OWNER, compile_scopes, hash_key, key_prefix, new_key
from satchel.core.auth.superusers import upsert_superuser
from satchel.core.errors import BadRequestError, ForbiddenError
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.scopes import ACTIONS, require_scope
from satchel.testing import running_app
from satchel.tools.sql import ir

ALL = [{"collection": "*", "actions": ["*"]}]


async def superuser(app: App) -> Record:
    await upsert_superuser(app, "root@example.com", "password-123")
    collection = app.collections.get("_superusers")
    assert collection is not None
    rows = await app.db.executor().fetch_all(ir.Select((ir.Star("_superusers"),), ir.Table("_superusers")))
    record = await app.records.get_by_id(collection, str(rows[0]["id"]))
    assert record is not None
    return record


def test_key_format_and_prefix_parsing() -> None:
    prefix, key = new_key()
    assert len(key) == KEY_LENGTH and key.startswith(prefix + "_") and prefix.startswith("sk_")
    assert key_prefix(key) == prefix
    other_prefix, other = new_key()
    assert other_prefix != prefix and other != key
    for bad in ("", key[:-1], key + "a", key.replace("sk_", "sx_", 1), prefix + "-" + key[len(prefix) + 1 :]):
        assert key_prefix(bad) is None, bad
    assert key_prefix("sk_" + "a" * 12 + "_" + "B" * 43) == "sk_" + "a" * 12
    assert key_prefix("sk_" + "A" * 12 + "_" + "B" * 43) is None  # prefixes are lower-case ids


def test_hash_depends_on_key_and_app_secret() -> None:
    _, key = new_key()
    digest = hash_key("secret-1", key)
    assert len(digest) == 64 and digest == hash_key("secret-1", key)
    assert digest != hash_key("secret-2", key)
    assert digest != hash_key("secret-1", key[:-1] + ("a" if key[-1] != "a" else "b"))


def test_compile_scopes_expands_wildcards() -> None:
    compiled = compile_scopes(
        (store.StoredScope("c1", ("list",)), store.StoredScope("c2", ("*",)), store.StoredScope("*", ("view",)))
    )
    assert compiled == {"c1": frozenset({"list"}), "c2": frozenset(ACTIONS), "*": frozenset({"view"})}


async def test_require_scope(app: App) -> None:
    users = app.collections.get("users")
    assert users is not None
    require_scope(RequestInfo(), users, "delete")  # no key: nothing to check
    keyed = RequestInfo(scopes={"*": frozenset({"view"}), users.id: frozenset({"list"})})
    require_scope(keyed, users, "list")
    require_scope(keyed, users, "view")  # from the `*` entry
    with pytest.raises(ForbiddenError):
        require_scope(keyed, users, "delete")
    with pytest.raises(ForbiddenError):
        require_scope(RequestInfo(scopes={}), users, "list")


async def test_input_merges_scopes_in_canonical_order(app: App) -> None:
    users = app.collections.get("users")
    assert users is not None
    values, errors = parse_key_input(
        {
            "name": "n",
            "scopes": [
                {"collection": "users", "actions": ["delete", "list"]},
                {"collection": users.id, "actions": ["view"]},
                {"collection": "*", "actions": ["list", "*"]},
            ],
        },
        app.collections.get,
        partial=False,
    )
    assert errors == {}
    assert values.scopes == (
        store.StoredScope(users.id, ("list", "view", "delete")),
        store.StoredScope("*", ("*",)),
    )
    assert values.expires == ""
    values, errors = parse_key_input({}, app.collections.get, partial=True)
    assert errors == {} and (values.name, values.scopes, values.expires) == (None, None, None)


async def test_authenticate_and_touch(app: App) -> None:
    root = await superuser(app)
    created = await app.api_keys.create(root, {"name": "k", "scopes": ALL, "expires": "2999-01-01"})
    found = await app.api_keys.authenticate(created["key"])
    assert found is not None
    key, owner = found
    assert key.id == created["id"] and owner.id == root.id and key.scopes == {"*": frozenset(ACTIONS)}
    assert await app.api_keys.authenticate(created["prefix"] + "_" + "a" * 43) is None

    now = [1000.0]
    app.api_keys.clock = lambda: now[0]
    await app.api_keys.touch(key)
    first = (await app.api_keys.view(root, key.id))["lastUsed"]
    assert first != ""
    await app.db.writer().execute(ir.Update(store.TABLE, {"lastUsed": ir.Param("")}, None))
    now[0] += 59
    await app.api_keys.touch(key)
    assert (await app.api_keys.view(root, key.id))["lastUsed"] == ""
    now[0] += 2
    await app.api_keys.touch(key)
    assert (await app.api_keys.view(root, key.id))["lastUsed"] >= first


async def test_orphaned_key_is_refused(app: App) -> None:
    """A row whose owner vanished without the hooks (e.g. edited outside Satchel) authenticates no one."""
    root = await superuser(app)
    created = await app.api_keys.create(root, {"name": "k", "scopes": ALL})
    await app.db.writer().execute(ir.Update(store.TABLE, {"recordRef": ir.Param("gone")}, None))
    assert await app.api_keys.authenticate(created["key"]) is None
    await app.db.writer().execute(ir.Update(store.TABLE, {"collectionRef": ir.Param("users")}, None))
    assert await app.api_keys.authenticate(created["key"]) is None  # a name is not an id


async def test_owner_key_limit(app: App) -> None:
    root = await superuser(app)
    for i in range(MAX_KEYS_PER_OWNER):
        await app.api_keys.create(root, {"name": f"k{i}", "scopes": ALL})
    with pytest.raises(BadRequestError, match="at most"):
        await app.api_keys.create(root, {"name": "one too many", "scopes": ALL})
    assert (await app.api_keys.list(root, {"skipTotal": "1"}, RequestInfo(auth=root)))["totalItems"] == -1


async def test_table_is_added_to_databases_from_before_keys(tmp_path: Path) -> None:
    async with running_app(tmp_path) as app:
        await app.db.writer().ddl(ir.DropTable(store.TABLE))
        assert await app.db.table_columns(store.TABLE) == []
    async with running_app(tmp_path) as app:
        columns = await app.db.table_columns(store.TABLE)
        assert "hash" in columns and "prefix" in columns and "lastUsed" in columns
        assert app.collections.get(store.TABLE) is None
