"""The npm `graphql-ws` client keeps a quiet GraphQL socket open by answering the server's pings.

A granian server runs an entry module with the test knobs shortened (`PING_INTERVAL`, the broker's
`idle_timeout`), as tests/apis/test_api_realtime.py does for SSE; the client runs in node
(tests/plugins/graphql/js, installed by `npm ci` in .ci/run).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apis import test_api_realtime
from tests.apis.test_api_realtime import Server, start_server
from tests.required_service import unavailable

JS_DIR = Path(__file__).parent / "js"
NODE_TIMEOUT_S = 120
PING_S, IDLE_S, WANTED = 0.05, 0.3, 20
"""20 pings take at least 19 x 0.05 s (a ping never comes early): over three idle timeouts."""

ENTRY = textwrap.dedent(
    """
    import os
    from satchel.apis.server import create_app
    from satchel.apis.shutdown import install_granian_hook, on_worker_stop
    from satchel.plugins import graphql
    from satchel.plugins.graphql import ws
    from satchel.wiring import build_app

    install_granian_hook()

    core = build_app(os.environ["SATCHEL_DIR"])
    core.realtime.idle_timeout = float(os.environ["GQL_IDLE"])
    ws.PING_INTERVAL = float(os.environ["GQL_PING"])
    graphql.register(core)

    async def startup():
        await core.bootstrap()
        on_worker_stop(core.realtime.disconnect_all)

    async def shutdown():
        await core.realtime.close()
        await core.close()

    app = create_app(core, on_startup=startup, on_shutdown=shutdown)
    """
)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(test_api_realtime, "ENTRY", ENTRY)
    s = start_server(tmp_path, GQL_IDLE=str(IDLE_S), GQL_PING=str(PING_S))
    yield s
    s.stop()


def test_the_npm_client_answers_pings_and_outlives_the_idle_timeout(server: Server) -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("`node` is not on PATH (Node 20 runs the graphql-ws client)")
    if not (JS_DIR / "node_modules" / "graphql-ws").is_dir():
        unavailable(f"the graphql-ws client is not installed: run `npm ci` in {JS_DIR}")
    assert node is not None
    url = server.url.replace("http://", "ws://") + "/api/graphql"
    done = subprocess.run(
        [node, "keepalive.mjs", url, str(WANTED)], cwd=JS_DIR, capture_output=True, timeout=NODE_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    # the client hung up itself (1000) after all its pings, with the subscription still running
    assert result == {"pings": WANTED, "closed": {"code": 1000, "reason": "Normal Closure"}, "errors": []}
