"""The running Satchel nodes shared by the deployment tests (started once per session)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from deploy_nodes import Node, start_node

from tests.apis.test_api_realtime import EMAIL, PASSWORD


@pytest.fixture(scope="session")
def satchel_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    """Two `satchel serve` processes sharing one data directory, with a superuser."""
    data = tmp_path_factory.mktemp("deploy") / "data"
    subprocess.run(
        [sys.executable, "-m", "satchel.cli.main", "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)],
        check=True,
        capture_output=True,
    )
    nodes: list[Node] = []
    try:
        nodes.append(start_node(data))
        nodes.append(start_node(data))
        yield nodes
    finally:
        for node in nodes:
            node.stop()
