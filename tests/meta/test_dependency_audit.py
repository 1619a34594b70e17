"""The dependency audit of .ci/run (.ci/audit.py): a pinned lock, and pip-audit failing on a vulnerable pin."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements-ci.lock"
VULNERABLE_PIN = "jinja2==2.10"
"""CVE-2019-10906 (str.format sandbox escape), GHSA-462w-v97r-4m45, fixed in 2.10.1."""


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / ".ci" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lock_pins_exact_versions_of_the_project_requirements() -> None:
    lines = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    names = [line.split("==")[0] for line in lines]
    assert names == sorted(names)
    for line in lines:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.\-]*==[A-Za-z0-9.+!\-]+", line), line
    pinned = {line.split("==")[0] for line in lines}
    lock = _module("lock")
    for req in lock.project_requirements():  # every direct requirement that applies here is pinned
        if lock._applies(req, ()):
            assert lock.canonicalize_name(req.name) in pinned, req.name
    assert "satchel" not in pinned


def test_ci_runs_the_audit() -> None:
    text = (REPO / ".ci" / "run").read_text()
    assert "python .ci/audit.py" in text
    assert "-c requirements-ci.lock" in text


def test_pip_audit_fails_on_a_known_vulnerable_pin(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(VULNERABLE_PIN + "\n")
    vulnerable, skipped = _module("audit").audit(requirements)
    if skipped:
        # not required_service's fail-under-CI: this workplace's CI cannot reach that API either
        pytest.skip(f"PyPI's per-version JSON API (vulnerability data) is unreachable: {skipped[0]['skip_reason']}")
    [dep] = vulnerable
    ids = {v["id"] for v in dep["vulns"]} | {a for v in dep["vulns"] for a in v.get("aliases", [])}
    assert "CVE-2019-10906" in ids or "GHSA-462w-v97r-4m45" in ids, ids
    cli = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps", "--disable-pip"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 1, cli.stdout + cli.stderr
