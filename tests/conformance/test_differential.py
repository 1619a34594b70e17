"""Satchel's own scenarios (js/scenarios/*.mjs) run against fresh real PocketBase and fresh Satchel.

The PocketBase-vs-PocketBase run guards the scenarios themselves: a scenario whose transcript is not
byte-identical over two fresh PocketBase servers would make every Satchel comparison meaningless.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ServerPool
from diff import diff_transcripts, format_diff
from servers import JS_DIR, WORK_DIR, run_scenario

pytestmark = [pytest.mark.conformance, pytest.mark.timeout(600)]

SCENARIOS = sorted((JS_DIR / "scenarios").glob("*.mjs"))


def record(scenario: Path, kind: str, pool: ServerPool, out_dir: Path, tag: str) -> dict[str, Any]:
    server = pool.start(kind)
    out = out_dir / f"{scenario.stem}.{kind}.{tag}.json"
    run = run_scenario(scenario, server, out)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out, WORK_DIR / out.name)  # kept for humans to inspect after a failure
    assert run.transcript is not None, f"scenario printed no transcript\n{run.describe()}"
    assert run.returncode == 0 and run.transcript.get("fatal") is None, run.describe()
    return run.transcript


class PocketBaseTranscripts:
    """First PocketBase transcript per scenario, shared by the determinism and the Satchel test."""

    def __init__(self, pool: ServerPool, out_dir: Path) -> None:
        self.pool, self.out_dir = pool, out_dir
        self.cache: dict[str, dict[str, Any]] = {}

    def get(self, scenario: Path) -> dict[str, Any]:
        if scenario.stem not in self.cache:
            self.cache[scenario.stem] = record(scenario, "pocketbase", self.pool, self.out_dir, "run1")
        return self.cache[scenario.stem]


@pytest.fixture(scope="session")
def pb_transcripts(
    server_pool: ServerPool, js_toolchain: None, tmp_path_factory: pytest.TempPathFactory
) -> PocketBaseTranscripts:
    return PocketBaseTranscripts(server_pool, tmp_path_factory.mktemp("transcripts"))


def test_scenarios_exist() -> None:
    assert len(SCENARIOS) >= 3, f"expected differential scenarios in {JS_DIR / 'scenarios'}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_is_deterministic_on_pocketbase(
    scenario: Path, pb_transcripts: PocketBaseTranscripts, server_pool: ServerPool, tmp_path: Path
) -> None:
    first = pb_transcripts.get(scenario)
    second = record(scenario, "pocketbase", server_pool, tmp_path, "run2")
    assert len(first["exchanges"]) > 10, "scenario recorded (almost) nothing"
    diffs = diff_transcripts(first, second)
    if diffs:
        pytest.fail("scenario is not deterministic on PocketBase:\n" + format_diff(diffs), pytrace=False)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_satchel_matches_pocketbase(
    scenario: Path, pb_transcripts: PocketBaseTranscripts, server_pool: ServerPool, tmp_path: Path
) -> None:
    reference = pb_transcripts.get(scenario)
    candidate = record(scenario, "satchel", server_pool, tmp_path, "run1")
    diffs = diff_transcripts(reference, candidate)
    if diffs:
        pytest.fail(f"Satchel differs from PocketBase in {scenario.name}:\n" + format_diff(diffs), pytrace=False)
