"""`satchel.v1.Records` through the generated Python client against a real `satchel serve --grpc`.

Every answer is checked against what REST answers for the same caller and request: same records,
same error body, the status code REST's status maps to. The access decisions are core's, so the
point is that no gRPC call reaches around them (rules, scopes, rate limits).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2, status_pb2

from satchel.plugins.grpc.errors import CODE_BY_STATUS, DETAILS_METADATA
from satchel.plugins.grpc.gen import records_pb2 as pb
from tests.plugins.grpc.servers import GrpcServe, error_body, running, wait_for

RECORDS = "/api/collections/{}/records"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrpcServe]:
    with running(tmp_path_factory.mktemp("grpc") / "data") as s:
        with s.rest() as http:
            for who, title, public in (("alice", "hello", True), ("alice", "diary", False), ("bob", "bobs", True)):
                body = {"title": title, "public": public, "owner": s.ids[who], "views": len(title)}
                r = http.post(RECORDS.format("posts"), headers=s.headers(who), json=body)
                assert r.status_code == 200, r.text
                s.ids[title] = r.json()["id"]
        yield s


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def plain(value: struct_pb2.Struct) -> dict[str, Any]:
    out: dict[str, Any] = json_format.MessageToDict(value)
    return out


async def rest_list(server: GrpcServe, who: str, collection: str, **params: Any) -> tuple[int, Any]:
    with server.rest() as http:
        r = http.get(RECORDS.format(collection), headers=server.headers(who), params=params)
        return r.status_code, r.json()


@pytest.mark.parametrize(
    ("who", "titles"),
    [
        ("guest", {"hello", "bobs"}),
        ("alice", {"hello", "diary", "bobs"}),
        ("bob", {"hello", "bobs"}),
        ("superuser", {"hello", "diary", "bobs"}),
    ],
)
async def test_list_shows_what_the_list_rule_lets_each_caller_see(
    server: GrpcServe, who: str, titles: set[str]
) -> None:
    async with server.stub() as stub:
        reply = await stub.List(pb.ListRequest(collection="posts"), metadata=server.auth(who))
    assert {item["title"] for item in map(plain, reply.items)} == titles
    assert (reply.page, reply.per_page, reply.total_items, reply.total_pages) == (1, 30, len(titles), 1)
    status, body = await rest_list(server, who, "posts")
    assert status == 200 and [plain(i) for i in reply.items] == body["items"]


async def test_list_parameters_mean_what_they_mean_over_rest(server: GrpcServe) -> None:
    params = {
        "filter": 'title != "nope"',
        "sort": "-title",
        "page": 2,
        "perPage": 1,
        "expand": "owner",
        "fields": "id,title,views,expand.owner.name",
    }
    request = pb.ListRequest(
        collection="posts",
        filter=params["filter"],
        sort=params["sort"],
        page=2,
        per_page=1,
        expand="owner",
        fields=params["fields"],
    )
    async with server.stub() as stub:
        reply = await stub.List(request, metadata=server.auth("alice"))
        skipped = await stub.List(pb.ListRequest(collection="posts", skip_total=True), metadata=server.auth("alice"))
    status, body = await rest_list(server, "alice", "posts", **params)
    assert status == 200
    items = [plain(i) for i in reply.items]
    assert (
        items
        == body["items"]
        == [{"id": server.ids["diary"], "title": "diary", "views": 5, "expand": {"owner": {"name": "alice"}}}]
    )
    assert (reply.page, reply.per_page, reply.total_items, reply.total_pages) == (2, 1, 3, 3)
    assert (skipped.total_items, skipped.total_pages, len(skipped.items)) == (-1, -1, 3)


@pytest.mark.parametrize(("who", "visible"), [("guest", False), ("bob", False), ("alice", True), ("superuser", True)])
async def test_get_applies_the_view_rule(server: GrpcServe, who: str, visible: bool) -> None:
    async with server.stub() as stub:
        call = stub.Get(
            pb.GetRequest(collection="posts", id=server.ids["diary"], expand="owner"), metadata=server.auth(who)
        )
        if visible:
            record = plain((await call).record)
            assert (record["title"], record["expand"]["owner"]["id"]) == ("diary", server.ids["alice"])
            return
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with server.rest() as http:
        r = http.get(RECORDS.format("posts") + "/" + server.ids["diary"], headers=server.headers(who))
    assert r.status_code == 404 and error_body(caught.value) == r.json()


@pytest.mark.parametrize("who", ["guest", "alice"])
async def test_superuser_only_collections_refuse_everyone_else(server: GrpcServe, who: str) -> None:
    async with server.stub() as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.List(pb.ListRequest(collection="secrets"), metadata=server.auth(who))
        assert (await stub.List(pb.ListRequest(collection="secrets"), metadata=server.auth("superuser"))).page == 1
    status, body = await rest_list(server, who, "secrets")
    assert status == 403 and caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_body(caught.value) == body and caught.value.details() == body["message"]


async def test_an_owner_creates_updates_and_deletes_her_record(server: GrpcServe) -> None:
    alice = server.auth("alice")
    async with server.stub() as stub:
        data = struct({"title": "draft", "public": False, "owner": server.ids["alice"], "views": 1, "views+": 2})
        created = plain((await stub.Create(pb.CreateRequest(collection="posts", data=data), metadata=alice)).record)
        assert (created["title"], created["views"], created["public"]) == ("draft", 3, False)
        with pytest.raises(grpc.aio.AioRpcError) as foreign:  # bob's update rule does not match
            await stub.Update(
                pb.UpdateRequest(collection="posts", id=created["id"], data=struct({"title": "x"})),
                metadata=server.auth("bob"),
            )
        assert foreign.value.code() == grpc.StatusCode.NOT_FOUND
        update = pb.UpdateRequest(collection="posts", id=created["id"], data=struct({"title": "final"}), fields="title")
        assert plain((await stub.Update(update, metadata=alice)).record) == {"title": "final"}
        with server.rest() as http:
            r = http.get(RECORDS.format("posts") + "/" + created["id"], headers=server.headers("alice"))
            assert r.json()["title"] == "final"
        await stub.Delete(pb.DeleteRequest(collection="posts", id=created["id"]), metadata=alice)
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await stub.Get(pb.GetRequest(collection="posts", id=created["id"]), metadata=alice)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("who", "body"),
    [
        ("guest", {"title": "anon", "public": True}),  # create rule needs an auth
        ("bob", {"title": "forged", "owner": "ALICE"}),  # create rule: only as oneself
        ("alice", {"title": "x" * 41, "owner": "ALICE"}),  # too long
        ("alice", {"public": True, "owner": "ALICE"}),  # title required
    ],
)
async def test_refused_creates_answer_what_rest_answers_and_write_nothing(
    server: GrpcServe, who: str, body: dict[str, Any]
) -> None:
    body = {k: server.ids["alice"] if v == "ALICE" else v for k, v in body.items()}
    before = (await rest_list(server, "superuser", "posts"))[1]["totalItems"]
    async with server.stub() as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Create(pb.CreateRequest(collection="posts", data=struct(body)), metadata=server.auth(who))
    with server.rest() as http:
        r = http.post(RECORDS.format("posts"), headers=server.headers(who), json=body)
    assert r.status_code >= 400
    assert caught.value.code() == CODE_BY_STATUS[r.status_code]
    assert error_body(caught.value) == r.json()
    assert (await rest_list(server, "superuser", "posts"))[1]["totalItems"] == before


async def test_validation_errors_carry_field_violations(server: GrpcServe) -> None:
    body = struct({"title": "x" * 41, "owner": server.ids["alice"]})
    async with server.stub() as stub:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Create(pb.CreateRequest(collection="posts", data=body), metadata=server.auth("alice"))
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    data = error_body(error)["data"]
    assert set(data) == {"title"} and data["title"]["code"] == "validation_max_text_constraint"
    raw = [v for k, v in error.trailing_metadata() if k == DETAILS_METADATA]
    status = status_pb2.Status.FromString(raw[0])
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and status.message == error.details()
    violations = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(violations)
    assert {(v.field, v.reason, v.description) for v in violations.field_violations} == {
        (name, data[name]["code"], data[name]["message"]) for name in data
    }


async def test_a_bad_token_is_a_guest_and_an_api_key_works_within_its_scopes(server: GrpcServe) -> None:
    with server.rest() as http:
        r = http.post(
            "/api/keys",
            headers=server.headers("alice"),
            json={"name": "grpc", "scopes": [{"collection": "posts", "actions": ["list"]}]},
        )
        assert r.status_code == 200, r.text
        key = r.json()["key"]
        denied = http.get(RECORDS.format("posts") + "/" + server.ids["diary"], headers={"Authorization": key})
    async with server.stub() as stub:
        bad = await stub.List(pb.ListRequest(collection="posts"), metadata=(("authorization", "Bearer nonsense"),))
        assert {plain(i)["title"] for i in bad.items} == {"hello", "bobs"}
        keyed = await stub.List(pb.ListRequest(collection="posts"), metadata=(("authorization", f"Bearer {key}"),))
        assert {plain(i)["title"] for i in keyed.items} == {"hello", "diary", "bobs"}
        with pytest.raises(grpc.aio.AioRpcError) as caught:  # `view` is not in the key's scopes
            await stub.Get(
                pb.GetRequest(collection="posts", id=server.ids["diary"]), metadata=(("authorization", key),)
            )
    assert caught.value.code() == CODE_BY_STATUS[denied.status_code] == grpc.StatusCode.PERMISSION_DENIED
    assert error_body(caught.value) == denied.json()


async def test_rules_see_call_metadata_as_request_headers(server: GrpcServe) -> None:
    with server.rest() as http:
        su = server.headers("superuser")
        body = {
            "name": "tenanted",
            "type": "base",
            "listRule": '@request.headers.x_tenant = "acme"',
            "fields": [{"name": "title", "type": "text"}],
        }
        assert http.post("/api/collections", headers=su, json=body).status_code == 200
        assert http.post(RECORDS.format("tenanted"), headers=su, json={"title": "t"}).status_code == 200
    async with server.stub() as stub:
        acme = await stub.List(pb.ListRequest(collection="tenanted"), metadata=(("x-tenant", "acme"),))
        other = await stub.List(pb.ListRequest(collection="tenanted"), metadata=(("x-tenant", "other"),))
    assert (len(acme.items), len(other.items)) == (1, 0)


async def test_unknown_collections_and_malformed_parameters(server: GrpcServe) -> None:
    async with server.stub() as stub:
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.List(pb.ListRequest(collection="nope"))
        with pytest.raises(grpc.aio.AioRpcError) as bad_filter:
            await stub.List(pb.ListRequest(collection="posts", filter="title ~~ ("))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert bad_filter.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status, body = await rest_list(server, "guest", "posts", filter="title ~~ (")
    assert status == 400 and error_body(bad_filter.value) == body


async def test_rate_limits_are_counted_with_rest_against_one_budget(server: GrpcServe) -> None:
    with server.rest() as http:
        su = server.headers("superuser")
        r = http.post(
            "/api/collections",
            headers=su,
            json={"name": "limited", "type": "base", "listRule": "", "fields": [{"name": "title", "type": "text"}]},
        )
        assert r.status_code == 200, r.text
        rule = {"label": "limited:list", "audience": "", "duration": 3600, "maxRequests": 2}
        r = http.patch("/api/settings", headers=su, json={"rateLimits": {"enabled": True, "rules": [rule]}})
        assert r.status_code == 200, r.text
    try:
        async with server.stub() as stub:
            await stub.List(pb.ListRequest(collection="limited"))
            assert (await rest_list(server, "guest", "limited"))[0] == 200
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.List(pb.ListRequest(collection="limited"))
            # the superuser is never limited, over gRPC as over REST
            await stub.List(pb.ListRequest(collection="limited"), metadata=server.auth("superuser"))
            await stub.List(pb.ListRequest(collection="posts"))  # other collections are not counted
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_body(caught.value) == {"data": {}, "message": "Too Many Requests.", "status": 429}
        assert (await rest_list(server, "guest", "limited"))[0] == 429
    finally:
        with server.rest() as http:
            http.patch("/api/settings", headers=server.headers("superuser"), json={"rateLimits": {"enabled": False}})


async def test_calls_leave_request_entries_in_the_logs(server: GrpcServe) -> None:
    async with server.stub() as stub:
        await stub.List(pb.ListRequest(collection="posts"), metadata=server.auth("alice"))
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Get(pb.GetRequest(collection="posts", id=server.ids["diary"]), metadata=server.auth("bob"))
        watching = stub.Watch(pb.WatchRequest(collection="posts"), metadata=server.auth("bob"))
        await watching.initial_metadata()
        watching.cancel()  # the stream's entry is written when it ends

    def entries() -> list[dict[str, Any]]:
        with server.rest() as http:
            r = http.get(
                "/api/logs",
                headers=server.headers("superuser"),
                params={"filter": 'message ~ "/satchel.v1.Records/"', "perPage": 100},
            )
            items: list[dict[str, Any]] = r.json()["items"]
            return items

    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = entries()
        messages = {e["message"] for e in found}
        return {f"POST /satchel.v1.Records/{m}" for m in ("List", "Get", "Watch")} <= messages

    wait_for(logged)
    listed = next(e for e in found if e["message"].endswith("/List") and e["data"]["auth"] == "users")
    assert (listed["level"], listed["data"]["status"]) == (0, 200) and "grpc" in listed["data"]["userAgent"]
    refused = next(e for e in found if e["message"].endswith("/Get") and e["data"]["status"] == 404)
    assert refused["level"] > 0 and refused["data"]["error"] == "The requested resource wasn't found."
    watched = next(e for e in found if e["message"].endswith("/Watch"))
    assert (watched["data"]["status"], watched["data"]["auth"]) == (200, "users")


async def test_a_superusers_writes_are_audited_as_over_rest(server: GrpcServe) -> None:
    """docs/security.md: every superuser request that may change something leaves an audit entry; a
    gRPC call must not be a way around the trail."""
    su = server.auth("superuser")
    async with server.stub() as stub:
        created = await stub.Create(
            pb.CreateRequest(collection="posts", data=struct({"title": "audited"})), metadata=su
        )
        record_id = plain(created.record)["id"]
        await stub.Update(
            pb.UpdateRequest(collection="posts", id=record_id, data=struct({"title": "audited 2", "views": 1})),
            metadata=su,
        )
        await stub.Delete(pb.DeleteRequest(collection="posts", id=record_id), metadata=su)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Delete(pb.DeleteRequest(collection="posts", id=record_id), metadata=su)  # refused: still audited
        await stub.List(pb.ListRequest(collection="posts"), metadata=su)  # a read: not audited
        await stub.Create(
            pb.CreateRequest(collection="posts", data=struct({"title": "x", "owner": server.ids["alice"]})),
            metadata=server.auth("alice"),
        )  # not a superuser: not audited

    def audited() -> list[dict[str, Any]]:
        with server.rest() as http:
            r = http.get(
                "/api/logs",
                headers=server.headers("superuser"),
                params={"filter": 'data.audit = true && message ~ "/satchel.v1.Records/"', "perPage": 100},
            )
            items: list[dict[str, Any]] = r.json()["items"]
            return items

    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = audited()
        return len(found) >= 4

    wait_for(logged)
    actions = sorted((e["data"]["action"]["url"], e["data"]["action"]["status"]) for e in found)
    assert actions == [
        ("/satchel.v1.Records/Create", 200),
        ("/satchel.v1.Records/Delete", 200),
        ("/satchel.v1.Records/Delete", 404),
        ("/satchel.v1.Records/Update", 200),
    ]
    update = next(e["data"] for e in found if e["data"]["action"]["url"].endswith("/Update"))
    create = next(e for e in found if e["data"]["action"]["url"].endswith("/Create"))
    assert update["actor"]["id"] and update["actor"]["email"] and update["actor"]["userIP"] == "127.0.0.1"
    assert update["action"] | {"url": "", "status": 0} == {
        "method": "POST",
        "route": "/satchel.v1.Records/Update",
        "url": "",
        "status": 0,
        "collection": "posts",
        "recordId": record_id,
        "fields": ["title", "views"],
        "fieldCount": 2,
    }
    assert create["level"] == 4 and create["message"] == "Superuser action: POST /satchel.v1.Records/Create"


async def test_files_upload_like_multipart_parts(server: GrpcServe) -> None:
    with server.rest() as http:
        body = {
            "name": "docs",
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "updateRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "attachment", "type": "file", "maxSelect": 1, "maxSize": 1 << 20},
                {"name": "papers", "type": "file", "maxSelect": 5, "maxSize": 1 << 20},
            ],
        }
        assert http.post("/api/collections", headers=server.headers("superuser"), json=body).status_code == 200
    files = [
        pb.File(field="attachment", filename="hello.txt", content=b"hello world", content_type="text/plain"),
        pb.File(field="papers", filename="a.txt", content=b"paper a"),
        pb.File(field="papers", filename="b.txt", content=b"paper b"),
    ]
    async with server.stub() as stub:
        created = plain(
            (await stub.Create(pb.CreateRequest(collection="docs", data=struct({"title": "t"}), files=files))).record
        )
        first, second = created["papers"]
        update = pb.UpdateRequest(
            collection="docs",
            id=created["id"],
            data=struct({"papers-": [first]}),
            files=[pb.File(field="papers+", filename="c.txt", content=b"paper c")],
        )
        updated = plain((await stub.Update(update)).record)
        with pytest.raises(grpc.aio.AioRpcError) as nameless:
            await stub.Create(pb.CreateRequest(collection="docs", files=[pb.File(filename="x.txt", content=b"x")]))
    assert created["attachment"].startswith("hello_") and created["attachment"].endswith(".txt")
    assert updated["papers"][0] == second and len(updated["papers"]) == 2
    with server.rest() as http:

        def download(name: str) -> bytes:
            r = http.get(f"/api/files/docs/{created['id']}/{name}")
            assert r.status_code == 200, name
            return r.content

        assert download(created["attachment"]) == b"hello world"
        assert [download(name) for name in updated["papers"]] == [b"paper b", b"paper c"]
        assert http.get(f"/api/files/docs/{created['id']}/{first}").status_code == 404
    assert nameless.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_body(nameless.value)["data"] == {
        "files": {"0": {"field": {"code": "validation_required", "message": "Cannot be blank."}}}
    }
