"""JSON responses through orjson (about 10x faster than the stdlib encoder for record lists)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def no_content() -> Response:
    return Response(status_code=204)
