"""Files sent with `Create`/`Update` as the body REST's multipart reader makes: each file field
holds the names the data keeps, then the new files (`satchel.apis.request.add_files`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from satchel.apis.request import add_files
from satchel.core.errors import ValidationError, required
from satchel.core.files.uploads import Upload
from satchel.plugins.grpc.gen import records_pb2 as pb


async def with_files(body: dict[str, Any], files: Iterable[pb.File]) -> dict[str, Any]:
    uploads: dict[str, list[Upload]] = {}
    for n, file in enumerate(files):
        if not file.field:
            raise ValidationError(None, {"files": {str(n): {"field": required()}}})
        upload = await Upload.from_bytes(file.content, file.filename, file.content_type)
        uploads.setdefault(file.field, []).append(upload)
    return add_files(body, uploads)
