"""Core errors as gRPC statuses: the code REST's status maps to, PocketBase's error body as JSON in
the `satchel-error` trailing metadata, and field errors also as a standard `google.rpc.BadRequest`
in `grpc-status-details-bin` (what grpcurl and the grpcio-status helpers read)."""

from __future__ import annotations

import json
import logging
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from satchel.apis.errors import INTERNAL_MESSAGE, STATUS_BY_KIND
from satchel.core.errors import SatchelError

log = logging.getLogger("satchel.grpc")

ERROR_METADATA = "satchel-error"
DETAILS_METADATA = "grpc-status-details-bin"
CODE_BY_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
}


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str, tuple[tuple[str, str | bytes], ...]]:
    """(code, message, trailing metadata) for an error a handler raised; unknown errors are logged
    and answered with the safe message, as REST answers them."""
    status = http_status(exc)
    if isinstance(exc, SatchelError):
        message, data = exc.message, exc.data
    else:
        log.error("unhandled error in a gRPC call", exc_info=exc)
        message, data = INTERNAL_MESSAGE, {}
    code = CODE_BY_STATUS[status]
    body = json.dumps({"data": data, "message": message, "status": status})  # ASCII: a valid metadata value
    details = status_pb2.Status(code=code.value[0], message=message)
    violations = list(field_violations(data))
    if violations:
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.BadRequest(field_violations=violations))
        details.details.append(packed)
    return code, message, ((ERROR_METADATA, body), (DETAILS_METADATA, details.SerializeToString()))


def http_status(exc: BaseException) -> int:
    """The status REST answers `exc` with."""
    return STATUS_BY_KIND.get(exc.kind, 400) if isinstance(exc, SatchelError) else 500


def field_violations(data: dict[str, Any], prefix: str = "") -> list[error_details_pb2.BadRequest.FieldViolation]:
    """PocketBase's nested `{"field": {"code", "message"}}` map, flattened to dotted field paths."""
    out: list[error_details_pb2.BadRequest.FieldViolation] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("code"), str) and isinstance(value.get("message"), str):
            out.append(
                error_details_pb2.BadRequest.FieldViolation(
                    field=path, description=value["message"], reason=value["code"]
                )
            )
        else:
            out.extend(field_violations(value, f"{path}."))
    return out
