"""The OpenAPI document as a Postman collection (format v2.1), for Postman or Newman.

Plain conversion: one folder per tag, one request per operation, `{{baseUrl}}` and `{{token}}`
as collection variables, path parameters as Postman path variables (defaulting to a variable of
the same name, so `newman run --env-var id=...` fills them), and a JSON body made from the
schema's required keys. Each request carries tests on its status: never a 5xx, and either a
documented success status or PocketBase's error shape with the same status.
"""

from __future__ import annotations

import json
import re
from typing import Any

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_PARAM = re.compile(r"{(\w+)}")
_MAX_DEPTH = 6


def _resolve(doc: dict[str, Any], schema: Any) -> dict[str, Any]:
    for _ in range(_MAX_DEPTH):
        if not isinstance(schema, dict) or "$ref" not in schema:
            break
        node: Any = doc
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = node
    return schema if isinstance(schema, dict) else {}


def example(doc: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """A value that fits `schema` (its required keys only, for objects)."""
    s = _resolve(doc, schema)
    if depth > _MAX_DEPTH:
        return None
    if s.get("examples"):
        return s["examples"][0]
    if s.get("enum"):
        return s["enum"][0]
    if "const" in s:
        return s["const"]
    kind = s.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in s):
        props = s.get("properties", {})
        return {k: example(doc, props.get(k, {}), depth + 1) for k in s.get("required", [])}
    if kind == "array":
        return [example(doc, s.get("items", {}), depth + 1)] if s.get("minItems") else []
    if kind in ("integer", "number"):
        return s.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "string":
        return {"email": "someone@example.com", "uri": "https://example.com"}.get(s.get("format", ""), "example")
    return None


def _success_codes(op: dict[str, Any]) -> list[int]:
    return sorted(int(code) for code in op.get("responses", {}) if code.isdigit() and code.startswith("2"))


def status_tests(op: dict[str, Any]) -> list[str]:
    ok = json.dumps(_success_codes(op))
    return [
        'pm.test("no server error", function () { pm.expect(pm.response.code).to.be.below(500); });',
        'pm.test("a documented status", function () {',
        f"  var ok = {ok};",
        "  if (ok.indexOf(pm.response.code) >= 0) { return; }",
        "  var body = pm.response.json();",
        '  pm.expect(body).to.have.all.keys("status", "message", "data");',
        "  pm.expect(body.status).to.eql(pm.response.code);",
        "});",
    ]


def _url(path: str, op: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    segments = [(":" + m.group(1)) if (m := _PARAM.fullmatch(seg)) else seg for seg in path.strip("/").split("/")]
    params = [_resolve(doc, p) for p in op.get("parameters", [])]
    variables = [{"key": p["name"], "value": "{{" + p["name"] + "}}"} for p in params if p.get("in") == "path"]
    query = [
        {"key": p["name"], "value": "", "disabled": True, "description": p.get("description", "")}
        for p in params
        if p.get("in") == "query"
    ]
    raw = "{{baseUrl}}/" + "/".join(segments)
    out: dict[str, Any] = {"raw": raw, "host": ["{{baseUrl}}"], "path": segments}
    if variables:
        out["variable"] = variables
    if query:
        out["query"] = query
    return out


def _body(op: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any] | None:
    content = _resolve(doc, op.get("requestBody", {})).get("content", {})
    if "application/json" not in content:
        return None
    value = example(doc, content["application/json"].get("schema", {}))
    return {"mode": "raw", "raw": json.dumps(value, indent=2), "options": {"raw": {"language": "json"}}}


def _request(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": [],
        "url": _url(path, op, doc),
        "description": op.get("description", ""),
    }
    if not any(req for req in op.get("security", []) if req):
        request["auth"] = {"type": "noauth"}
    body = _body(op, doc)
    if body is not None:
        request["body"] = body
        request["header"].append({"key": "Content-Type", "value": "application/json"})
    return {
        "name": op.get("summary") or f"{method.upper()} {path}",
        "request": request,
        "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": status_tests(op)}}],
    }


def to_postman(doc: dict[str, Any], base_url: str = "http://127.0.0.1:8090") -> dict[str, Any]:
    """A Postman v2.1 collection of every operation of `doc`, in folders by tag."""
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            tag = (op.get("tags") or ["other"])[0]
            folders.setdefault(tag, []).append(_request(path, method, op, doc))
    info = doc.get("info", {})
    return {
        "info": {
            "name": info.get("title", "API"),
            "description": info.get("description", ""),
            "schema": SCHEMA_URL,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]},
        "variable": [{"key": "baseUrl", "value": base_url}, {"key": "token", "value": ""}],
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
    }
