"""The OpenAPI 3.1 document of the live server (`GET /api/openapi.json`), the interactive docs
page (`/api/docs`) and the Postman collection made from the document. See docs/openapi.md."""

from __future__ import annotations

from satchel.apis.openapi.document import DocumentCache, build_document, served_operations
from satchel.apis.openapi.endpoints import routes
from satchel.apis.openapi.postman import to_postman

__all__ = ["DocumentCache", "build_document", "routes", "served_operations", "to_postman"]
