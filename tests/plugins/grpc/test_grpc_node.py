"""The Node gRPC client (@grpc/grpc-js with the .proto loaded by @grpc/proto-loader) against a real
`satchel serve --grpc`: what a non-Python client built from the published proto sees."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.plugins.grpc.codegen import PROTO_ROOT
from tests.plugins.grpc.servers import GrpcServe, running
from tests.required_service import unavailable

JS_DIR = Path(__file__).resolve().parent / "js"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        unavailable("`node` is not on PATH (Node 20 runs the @grpc/grpc-js client)")
    if not (JS_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        unavailable(f"JS dependencies missing: run `npm ci` in {JS_DIR}")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrpcServe]:
    with running(tmp_path_factory.mktemp("grpc-node") / "data") as s:
        with s.rest() as http:
            for title in ("b", "a"):
                body = {"title": title, "public": True, "owner": s.ids["bob"]}
                assert (
                    http.post("/api/collections/posts/records", headers=s.headers("bob"), json=body).status_code == 200
                )
        yield s


def trigger(server: GrpcServe) -> None:
    """Two creates once the client's watch is in place: only the second matches its filter."""
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        for title in ("skipped", "node watched"):
            body = {"title": title, "public": True, "owner": server.ids["bob"]}
            r = http.post("/api/collections/posts/records", headers=server.headers("bob"), json=body)
            assert r.status_code == 200, r.text


def test_the_node_client_lists_creates_is_refused_and_watches(node: str, server: GrpcServe) -> None:
    config = {
        "target": server.target,
        "protoRoot": str(PROTO_ROOT),
        "token": server.tokens["alice"],
        "owner": server.ids["alice"],
    }
    steps: dict[str, dict[str, Any]] = {}
    command = [node, str(JS_DIR / "client.mjs"), json.dumps(config)]
    with subprocess.Popen(command, cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            for line in proc.stdout:
                step = json.loads(line)
                steps[step.pop("step")] = step
                if "ready" in steps and "trigger" not in steps:
                    steps["trigger"] = {}
                    trigger(server)
            assert proc.wait(30) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert steps["list"] == {"code": "OK", "titles": ["a", "b"], "total": 2}
    created = steps["create"]["record"]
    assert steps["create"]["code"] == "OK" and (created["title"], created["views"], created["owner"]) == (
        "from node",
        7,
        server.ids["alice"],
    )
    invalid = steps["invalid"]
    assert invalid["code"] == "INVALID_ARGUMENT" and invalid["body"]["data"]["title"]["code"] == "validation_required"
    assert invalid["message"] == invalid["body"]["message"]
    assert steps["guest-create"]["code"] == "INVALID_ARGUMENT" and steps["guest-create"]["body"]["status"] == 400
    assert steps["event"]["action"] == "create" and steps["event"]["record"]["title"] == "node watched"
    assert "watch-error" not in steps
