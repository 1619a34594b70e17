"""deploy/compose: `docker compose` cannot run here, so the file is read as data and checked for what
compose would only find out at `up`: services, health checks, start order, volumes, mounted files,
and that no secret is written into it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_tools import DEPLOY, REPO, boot_env_names

COMPOSE_DIR = DEPLOY / "compose"
SATCHEL_NODES = {"satchel-1", "satchel-2"}
BACKENDS = {"postgres", "redis", "nats"}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|PASSPHRASE|AUTH", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    return data


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def strings(node: Any) -> list[str]:
    """Every string in the document, keys excluded."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return []


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SATCHEL_NODES | BACKENDS | {"nginx"}


def test_every_service_is_health_checked(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_start_order_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for node in SATCHEL_NODES:
        deps = services[node]["depends_on"]
        assert set(deps) == BACKENDS
        assert all(d["condition"] == "service_healthy" for d in deps.values())
    deps = services["nginx"]["depends_on"]
    assert set(deps) == SATCHEL_NODES
    assert all(d["condition"] == "service_healthy" for d in deps.values())


def test_nodes_are_configured_for_several_nodes(compose: dict[str, Any]) -> None:
    """Two nodes need the shared database, cache and broker; every variable is one `serve` reads."""
    for node in SATCHEL_NODES:
        env = env_of(compose["services"][node])
        assert set(env) <= boot_env_names(), set(env) - boot_env_names()
        assert env["SATCHEL_DB"].startswith("postgres://") and "@postgres:5432/" in env["SATCHEL_DB"]
        assert env["SATCHEL_CACHE_URL"].startswith("redis://") and "@redis:6379/" in env["SATCHEL_CACHE_URL"]
        assert env["SATCHEL_BROKER_URL"] == "nats://nats:4222"
        assert env["SATCHEL_HTTP"] == "0.0.0.0:8090"


def test_nginx_upstreams_are_the_compose_nodes(compose: dict[str, Any]) -> None:
    upstream = (DEPLOY / "nginx" / "upstream.conf").read_text()
    servers = set(re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream, re.MULTILINE))
    port = env_of(compose["services"]["satchel-1"])["SATCHEL_HTTP"].rpartition(":")[2]
    assert servers == {(node, port) for node in SATCHEL_NODES}


def test_only_nginx_is_published_and_backends_are_internal(compose: dict[str, Any]) -> None:
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"nginx"}
    assert compose["networks"]["backend"]["internal"] is True
    for name in BACKENDS:
        assert compose["services"][name]["networks"] == ["backend"]


def test_volumes_and_mounted_files_exist(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                path = (COMPOSE_DIR / source).resolve()
                # tls/ is made by gen-dev-cert.sh (or mounted by the operator); everything else ships
                assert path.exists() or path == COMPOSE_DIR / "tls", f"{name} mounts missing {source}"
            else:
                used.add(source)
    assert used == declared
    build = compose["services"]["satchel-1"]["build"]
    context = (COMPOSE_DIR / build["context"]).resolve()
    assert context == REPO
    assert (context / build["dockerfile"]).is_file()


def test_nodes_keep_data_apart_but_share_uploaded_files(compose: dict[str, Any]) -> None:
    mounts = {node: compose["services"][node]["volumes"] for node in SATCHEL_NODES}
    data = {next(m for m in vols if m.endswith(":/data")) for vols in mounts.values()}
    storage = {next(m for m in vols if m.endswith(":/data/storage")) for vols in mounts.values()}
    assert len(data) == 2 and len(storage) == 1


def test_no_secret_is_written_into_the_file(compose: dict[str, Any]) -> None:
    """Every secret comes from the environment (.env), and one that is missing stops `up` (`:?`)."""
    for name, service in compose["services"].items():
        for key, value in env_of(service).items():
            has_secret = SECRET_WORDS.search(key) or re.search(r"://[^/@]*:[^/@]*@", value)
            if has_secret and value:
                assert INTERPOLATION.search(value), f"{name}.{key} holds a literal secret"
    for text in strings(compose):
        for m in INTERPOLATION.finditer(text):
            if SECRET_WORDS.search(m["name"]) and m["name"] != "SATCHEL_BACKUP_PASSPHRASE":
                assert m["op"] == ":?", f"${{{m['name']}}} must be required, not defaulted"


def test_env_example_covers_every_variable_and_is_marked_dev_only(compose: dict[str, Any]) -> None:
    example = (COMPOSE_DIR / ".env.example").read_text()
    assert "DEV-ONLY" in example
    defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
    referenced = {m["name"] for text in strings(compose) for m in INTERPOLATION.finditer(text)}
    assert referenced == defined
    ignored = (COMPOSE_DIR / ".gitignore").read_text().split()
    assert {".env", "tls/"} <= set(ignored)


def test_dev_certificate_script_is_executable() -> None:
    script = COMPOSE_DIR / "gen-dev-cert.sh"
    assert script.stat().st_mode & 0o111
    assert Path(script).read_text().startswith("#!/usr/bin/env bash\n")


def test_nested_mounts_exist_in_the_image(compose: dict[str, Any]) -> None:
    """A volume mounted below /data starts with the image directory's owner only if the image has that
    directory: otherwise Docker creates it for root and the non-root server cannot write to it."""
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    for node in SATCHEL_NODES:
        for mount in compose["services"][node]["volumes"]:
            target = mount.split(":")[1]
            if target.startswith("/data/"):
                assert re.search(rf"mkdir -p [^\n]*{re.escape(target)}\b", dockerfile), target
