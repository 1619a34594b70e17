"""The public reference scenario (../shared/conformance) against real PocketBase and against Satchel.

Running it against real PocketBase too proves the harness itself (staging, fresh server, comparison)
before any Satchel difference is blamed on Satchel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ServerPool
from required_service import unavailable
from servers import SHARED_DIR, WORK_DIR, run_scenario, stage_script

pytestmark = [pytest.mark.conformance, pytest.mark.timeout(600)]

REFERENCE = "reference.pocketbase-0.40.6.json"


@pytest.fixture(scope="module")
def shared_dir(js_toolchain: None) -> Path:
    for name in ("scenario.mjs", "compare_transcripts.py", REFERENCE):
        if not (SHARED_DIR / name).is_file():
            unavailable(f"shared conformance kit not found: {SHARED_DIR / name} is missing")
    return SHARED_DIR


def run_shared(kind: str, pool: ServerPool, shared: Path, tmp_path: Path) -> Path:
    server = pool.start(kind)
    script = stage_script(shared / "scenario.mjs", tmp_path / "stage")
    out = tmp_path / f"shared.{kind}.json"
    run = run_scenario(script, server, out)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out, WORK_DIR / out.name)  # kept for humans to inspect after a failure
    assert run.transcript is not None, f"scenario printed no transcript\n{run.describe()}"
    return out


def compare(shared: Path, candidate: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(shared / "compare_transcripts.py"), str(shared / REFERENCE), str(candidate)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_shared_scenario_on_pocketbase_matches_reference(
    shared_dir: Path, server_pool: ServerPool, tmp_path: Path
) -> None:
    cand = run_shared("pocketbase", server_pool, shared_dir, tmp_path)
    res = compare(shared_dir, cand)
    if res.returncode != 0:
        pytest.fail(f"harness broken: real PocketBase differs from the reference\n{res.stdout}", pytrace=False)


def test_shared_scenario_on_satchel_matches_reference(
    shared_dir: Path, server_pool: ServerPool, tmp_path: Path
) -> None:
    cand = run_shared("satchel", server_pool, shared_dir, tmp_path)
    res = compare(shared_dir, cand)
    if res.returncode != 0:
        pytest.fail(f"Satchel differs from PocketBase 0.40.6\n{res.stdout}{res.stderr}", pytrace=False)
