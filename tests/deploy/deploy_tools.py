"""Shared by the deployment tests: where the files are, and how to find the tools that check them.

A missing tool skips a test locally and fails it under CI=true (`required_service.unavailable`): the
CI script installs every one of them, so a skip there would hide an unchecked file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import fields
from pathlib import Path

from required_service import unavailable

from satchel.config import ENV_PREFIX, BootConfig

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCS = REPO / "docs" / "deploy.md"
IMAGE_UID = 10001
"""The uid the Dockerfile runs as; Kubernetes and ECS must name the same one."""


def boot_env_names() -> set[str]:
    """Every `SATCHEL_*` variable `satchel serve` reads (BootConfig's fields)."""
    return {ENV_PREFIX + f.name.upper() for f in fields(BootConfig)}


def tool(name: str, hint: str, *candidates: Path) -> str:
    """The executable `name`: the first of `candidates` that exists, else `name` on PATH; skip
    (fail under CI) when there is none."""
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    unavailable(f"`{name}` is not installed", hint)
    raise AssertionError("unreachable")  # unavailable() always raises


def checkov() -> str:
    """checkov lives in a virtualenv of its own (.ci/run makes it): it pins boto3 and botocore to
    versions that Satchel's aiobotocore cannot use, so it cannot join the test extra."""
    override = os.environ.get("SATCHEL_CHECKOV")
    candidates = [Path(override)] if override else []
    candidates.append(REPO / ".venv" / "checkov" / "bin" / "checkov")
    return tool("checkov", "run .ci/run (it creates .venv/checkov) or set SATCHEL_CHECKOV", *candidates)
