"""Core errors as gRPC statuses: the code for each REST status, PocketBase's body, field violations."""

from __future__ import annotations

import json
import logging

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from satchel.core.errors import (
    BadRequestError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    TooLargeError,
    TooManyRequestsError,
    UnauthorizedError,
    ValidationError,
)
from satchel.plugins.grpc.errors import DETAILS_METADATA, ERROR_METADATA, field_violations, status_of


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (BadRequestError(), grpc.StatusCode.INVALID_ARGUMENT, 400),
        (UnauthorizedError(), grpc.StatusCode.UNAUTHENTICATED, 401),
        (ForbiddenError(), grpc.StatusCode.PERMISSION_DENIED, 403),
        (NotFoundError(), grpc.StatusCode.NOT_FOUND, 404),
        (TooLargeError(), grpc.StatusCode.INVALID_ARGUMENT, 413),
        (TooManyRequestsError(retry_after=3), grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    ],
)
def test_each_core_error_maps_to_its_code_and_body(error: Exception, code: grpc.StatusCode, status: int) -> None:
    got, message, trailing = status_of(error)
    metadata = dict(trailing)
    assert (got, message) == (code, str(error))
    assert json.loads(metadata[ERROR_METADATA]) == {"data": {}, "message": str(error), "status": status}
    details = status_pb2.Status.FromString(metadata[DETAILS_METADATA])
    assert (details.code, details.message, len(details.details)) == (code.value[0], str(error), 0)


def test_unknown_errors_are_logged_and_answered_with_the_safe_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="satchel.grpc"):
        code, message, trailing = status_of(RuntimeError("secret internals"))
    assert code == grpc.StatusCode.INTERNAL and "secret" not in message and "secret" not in str(trailing)
    assert json.loads(dict(trailing)[ERROR_METADATA])["status"] == 500
    assert "secret internals" in caplog.text


def test_nested_field_errors_become_dotted_violations() -> None:
    error = ValidationError(
        None,
        {
            "title": FieldError("validation_required", "Cannot be blank."),
            "fields": {"3": {"name": FieldError("validation_invalid_name", "Bad name.")}},
        },
    )
    code, _, trailing = status_of(error)
    details = status_pb2.Status.FromString(dict(trailing)[DETAILS_METADATA])
    bad = error_details_pb2.BadRequest()
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.details[0].Unpack(bad)
    assert [(v.field, v.reason, v.description) for v in bad.field_violations] == [
        ("title", "validation_required", "Cannot be blank."),
        ("fields.3.name", "validation_invalid_name", "Bad name."),
    ]
    assert field_violations({"plain": "text"}) == []
