"""`satchel.v1.Records`: the REST record endpoints' calls, one core service call each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import grpc

from satchel.core.app import App
from satchel.core.records.service import ListParams
from satchel.plugins.grpc.call_log import CallLog
from satchel.plugins.grpc.calls import CREATE, DELETE, LIST, UPDATE, VIEW, Calls
from satchel.plugins.grpc.convert import from_struct, to_struct
from satchel.plugins.grpc.errors import status_of
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen.records_pb2_grpc import RecordsServicer
from satchel.plugins.grpc.uploads import with_files
from satchel.plugins.grpc.watch import watch

T = TypeVar("T")
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
SERVICE = pb.DESCRIPTOR.services_by_name["Records"].full_name


def list_query(request: pb.ListRequest) -> dict[str, str]:
    """The REST query parameters the request stands for (what `@request.query.*` sees)."""
    query = {
        "filter": request.filter,
        "sort": request.sort,
        "page": str(request.page) if request.page else "",
        "perPage": str(request.per_page) if request.per_page else "",
        "skipTotal": "true" if request.skip_total else "",
        "expand": request.expand,
        "fields": request.fields,
    }
    return {k: v for k, v in query.items() if v}


def view_query(expand: str, fields: str) -> dict[str, str]:
    return {k: v for k, v in (("expand", expand), ("fields", fields)) if v}


class Records(RecordsServicer):
    def __init__(self, app: App) -> None:
        self.app = app
        self.calls = Calls(app)

    async def answer(self, context: Context, method: str, work: Callable[[CallLog], Awaitable[T]]) -> T:
        """`work`'s result, or the call aborted with the status its error maps to; logged either way,
        and so is a call the client cancelled mid-handler (grpc cancels the handler's task)."""
        log = CallLog(self.app, SERVICE, method, context)
        try:
            result = await work(log)
        except asyncio.CancelledError as exc:
            log.done(exc)
            raise
        except Exception as exc:
            log.done(exc)
            code, message, trailing = status_of(exc)
            await context.abort(code, message, trailing_metadata=trailing)
            raise  # unreachable: abort raises
        log.done()
        return result

    async def List(self, request: pb.ListRequest, context: Context) -> pb.ListResponse:
        async def work(log: CallLog) -> pb.ListResponse:
            query = list_query(request)
            params = ListParams.from_query(query)
            info, key = await self.calls.request_info(context, LIST, request.collection, query=query, log=log)
            result = await self.app.records.list(request.collection, info, params)
            await self.calls.used(key)
            return pb.ListResponse(
                items=[to_struct(item) for item in result.get("items", [])],
                page=result.get("page", params.page),
                per_page=result.get("perPage", params.per_page),
                total_items=result.get("totalItems", -1),
                total_pages=result.get("totalPages", -1),
            )

        return await self.answer(context, "List", work)

    async def Get(self, request: pb.GetRequest, context: Context) -> pb.GetResponse:
        async def work(log: CallLog) -> pb.GetResponse:
            query = view_query(request.expand, request.fields)
            info, key = await self.calls.request_info(
                context, VIEW, request.collection, request.id, query=query, log=log
            )
            result = await self.app.records.view(request.collection, request.id, info, request.expand, request.fields)
            await self.calls.used(key)
            return pb.GetResponse(record=to_struct(result))

        return await self.answer(context, "Get", work)

    async def Create(self, request: pb.CreateRequest, context: Context) -> pb.CreateResponse:
        async def work(log: CallLog) -> pb.CreateResponse:
            body = await with_files(from_struct(request.data), request.files)
            query = view_query(request.expand, request.fields)
            info, key = await self.calls.request_info(
                context, CREATE, request.collection, query=query, body=body, log=log
            )
            result = await self.app.records.create(request.collection, body, info, request.expand, request.fields)
            await self.calls.used(key)
            return pb.CreateResponse(record=to_struct(result))

        return await self.answer(context, "Create", work)

    async def Update(self, request: pb.UpdateRequest, context: Context) -> pb.UpdateResponse:
        async def work(log: CallLog) -> pb.UpdateResponse:
            body = await with_files(from_struct(request.data), request.files)
            query = view_query(request.expand, request.fields)
            info, key = await self.calls.request_info(
                context, UPDATE, request.collection, request.id, query=query, body=body, log=log
            )
            result = await self.app.records.update(
                request.collection, request.id, body, info, request.expand, request.fields
            )
            await self.calls.used(key)
            return pb.UpdateResponse(record=to_struct(result))

        return await self.answer(context, "Update", work)

    async def Delete(self, request: pb.DeleteRequest, context: Context) -> pb.DeleteResponse:
        async def work(log: CallLog) -> pb.DeleteResponse:
            info, key = await self.calls.request_info(context, DELETE, request.collection, request.id, log=log)
            await self.app.records.delete(request.collection, request.id, info)
            await self.calls.used(key)
            return pb.DeleteResponse()

        return await self.answer(context, "Delete", work)

    async def Watch(self, request: pb.WatchRequest, context: Context) -> AsyncIterator[pb.ChangeEvent]:
        # an async generator itself: grpc.aio tells streaming handlers from `context.write` ones by that
        async for event in watch(self.app, self.calls, request, context, CallLog(self.app, SERVICE, "Watch", context)):
            yield event
