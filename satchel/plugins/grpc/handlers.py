"""`satchel.v1.Records`'s method handlers, registered in place of the generated
`add_RecordsServicer_to_server`.

The generated ones hand grpc each request type's `FromString`, so bytes that are no such message
fail inside grpc, before any of our code runs: the client gets UNKNOWN with the exception's name,
and the call leaves no `_logs` entry and no metrics. These take the request's bytes as they came
and decode them in the handler, so a bad message is refused as REST refuses a body it cannot read
(400, INVALID_ARGUMENT here) and goes through `Records.answer`, logged like any other failed call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from satchel.apis.request import LOAD_ERROR
from satchel.core.errors import BadRequestError
from satchel.plugins.grpc.call_log import CallLog
from satchel.plugins.grpc.calls import peer_ip
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.records import SERVICE, Context, Records

M = TypeVar("M", bound=Message)
Unary = Callable[[Any, Context], Awaitable[Any]]
Streaming = Callable[[Any, Context], AsyncGenerator[Any, None]]


async def decode(records: Records, context: Context, method: str, message: type[M], raw: bytes) -> M:
    """The request, or the call refused with REST's 400 for unreadable input (the decoder's own
    message names protobuf internals, not what the client did wrong)."""
    try:
        request: M = message.FromString(raw)
        return request
    except DecodeError as exc:
        error = exc

    async def refuse(log: CallLog) -> M:
        log.ip = peer_ip(context.peer() or "")  # refused before the caller is known: a guest's entry
        raise BadRequestError(LOAD_ERROR) from error

    return await records.answer(context, method, refuse)


def unary(records: Records, method: str, message: type[Message], behavior: Unary) -> Unary:
    async def handle(raw: bytes, context: Context) -> Any:
        return await behavior(await decode(records, context, method, message, raw), context)

    return handle


def streaming(records: Records, method: str, message: type[Message], behavior: Streaming) -> Streaming:
    # an async generator itself: grpc.aio tells streaming handlers from `context.write` ones by that
    async def handle(raw: bytes, context: Context) -> AsyncGenerator[Any, None]:
        request = await decode(records, context, method, message, raw)
        async with aclosing(behavior(request, context)) as replies:  # its `finally` runs when the stream ends
            async for reply in replies:
                yield reply

    return handle


def add_records(records: Records, server: grpc.aio.Server) -> None:
    """Every method of the service (read from its descriptor, so a new one cannot be missed),
    with no request deserializer: grpc passes the bytes through."""
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in pb.DESCRIPTOR.services_by_name["Records"].methods:
        message: type[Message] = getattr(pb, method.input_type.name)
        serialize = getattr(pb, method.output_type.name).SerializeToString
        behavior = getattr(records, method.name)
        if method.client_streaming:
            raise TypeError(f"{SERVICE}/{method.name}: client streams are not served")
        if method.server_streaming:
            handle: Any = streaming(records, method.name, message, behavior)
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(handle, response_serializer=serialize)
        else:
            handle = unary(records, method.name, message, behavior)
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(handle, response_serializer=serialize)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
