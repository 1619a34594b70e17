"""deploy/terraform/aws: no AWS account here, so the module is parsed (python-hcl2) and scanned (checkov)
with no failed check and every skipped one justified inline; then the wiring that checkov cannot know
about is checked on the parsed module (health path, port, user, secrets, timeouts)."""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from deploy_tools import DEPLOY, IMAGE_UID, boot_env_names, checkov

MODULE = DEPLOY / "terraform" / "aws"
FILES = sorted(MODULE.glob("*.tf"))
SATCHEL_SSE_IDLE = 300
SKIP = re.compile(r"#checkov:skip=(?P<id>CKV2?_[A-Z0-9]+_\d+)(?::(?P<reason>.*))?")


def normalized(node: Any) -> Any:
    """python-hcl2's tree with block labels unquoted and its bookkeeping keys (`__is_block__`,
    `__comments__`, ...) dropped; attribute values keep their HCL quoting (see `unquote`)."""
    if isinstance(node, dict):
        return {unquote(k): normalized(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [normalized(v) for v in node]
    return node


@cache
def module() -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {}
    for path in FILES:
        for key, blocks in normalized(hcl2.loads(path.read_text())).items():
            merged.setdefault(key, []).extend(blocks)
    return merged


def resource(kind: str, name: str) -> dict[str, Any]:
    for block in module()["resource"]:
        if kind in block and name in block[kind]:
            found: dict[str, Any] = block[kind][name]
            return found
    raise KeyError(f"{kind}.{name}")


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes."""
    return value[1:-1] if isinstance(value, str) and value.startswith('"') and value.endswith('"') else value


@cache
def scan() -> dict[str, Any]:
    res = subprocess.run(
        [checkov(), "-d", str(MODULE), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.stdout, res.stderr
    report: dict[str, Any] = json.loads(res.stdout)
    return report


def test_every_file_parses() -> None:
    assert FILES
    for path in FILES:
        assert hcl2.loads(path.read_text()), path


def test_checkov_finds_no_failed_check() -> None:
    results = scan()["results"]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in results["failed_checks"]]
    assert failed == []
    assert len(results["passed_checks"]) > 100, "the scan covered the module"


def test_every_skip_is_justified_inline() -> None:
    inline = 0
    for path in FILES:
        for match in SKIP.finditer(path.read_text()):
            inline += 1
            assert match["reason"] and len(match["reason"].strip()) >= 20, f"{path.name}: {match['id']} needs a reason"
    skipped = scan()["results"]["skipped_checks"]
    assert inline and skipped, "the module's skips are read by checkov"
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) >= 20, (check["check_id"], check["resource"])


def test_checkov_does_fail_an_unsafe_module(tmp_path: Path) -> None:
    """The scan above can fail: an unencrypted, public database is reported."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_db_instance" "bad" {\n  engine = "postgres"\n  instance_class = "db.t4g.micro"\n'
        "  publicly_accessible = true\n  storage_encrypted = false\n}\n"
    )
    res = subprocess.run(
        [checkov(), "-d", str(tmp_path), "--framework", "terraform", "--skip-download", "--quiet", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    failed = {c["check_id"] for c in json.loads(res.stdout)["results"]["failed_checks"]}
    assert {"CKV_AWS_16", "CKV_AWS_17"} <= failed


def test_variables_are_typed_and_described() -> None:
    for block in module()["variable"]:
        for name, body in block.items():
            assert "type" in body and body.get("description"), name


def container_definition() -> str:
    """The task's `jsonencode([...])` as HCL text: the fields below are read from it."""
    text = resource("aws_ecs_task_definition", "satchel")["container_definitions"]
    assert isinstance(text, str) and text.startswith("${jsonencode(")
    return text


def test_tasks_are_health_checked_on_satchel_port() -> None:
    group = resource("aws_lb_target_group", "satchel")
    (check,) = group["health_check"]
    assert unquote(check["path"]) == "/api/health"
    assert unquote(check["matcher"]) == "200"
    text = container_definition()
    port = re.search(r'"SATCHEL_HTTP", value = "0\.0\.0\.0:(\d+)"', text)
    assert port and int(port.group(1)) == group["port"]
    assert f"containerPort = {group['port']}" in text
    service = resource("aws_ecs_service", "satchel")
    (lb,) = service["load_balancer"]
    assert lb["container_port"] == group["port"]


def test_tasks_run_as_the_image_user_read_only() -> None:
    text = container_definition()
    assert f'user = "{IMAGE_UID}:{IMAGE_UID}"' in text
    assert "readonlyRootFilesystem = true" in text
    (network,) = resource("aws_ecs_service", "satchel")["network_configuration"]
    assert network["assign_public_ip"] is False


def test_several_tasks_only_with_postgres_redis_and_shared_secrets() -> None:
    """The service starts more than one task, so the tasks must get PostgreSQL, the cache and the broker."""
    defaults = {name: body.get("default") for block in module()["variable"] for name, body in block.items()}
    assert defaults["desired_count"] >= 2
    locals_ = {k: v for block in module()["locals"] for k, v in block.items()}
    secrets = locals_["secrets"]
    assert set(secrets) <= boot_env_names(), set(secrets) - boot_env_names()
    assert unquote(secrets["SATCHEL_DB"]).startswith("postgres://")
    assert "sslmode=require" in secrets["SATCHEL_DB"]
    assert unquote(locals_["redis_url"]).startswith("rediss://")
    assert {"SATCHEL_CACHE_URL", "SATCHEL_BROKER_URL"} <= set(secrets)
    db = resource("aws_db_instance", "main")
    assert unquote(db["engine"]) == "postgres"
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False


def test_load_balancer_outlives_satchel_idle_realtime_streams() -> None:
    assert resource("aws_lb", "main")["idle_timeout"] > SATCHEL_SSE_IDLE


@pytest.mark.parametrize("name", ["alb_https", "alb_http"])
def test_only_the_load_balancer_is_open_to_the_internet(name: str) -> None:
    rule = resource("aws_vpc_security_group_ingress_rule", name)
    assert "aws_security_group.alb.id" in rule["security_group_id"]
    for block in module()["resource"]:
        for body in block.get("aws_vpc_security_group_ingress_rule", {}).values():
            if unquote(body.get("cidr_ipv4")) == "0.0.0.0/0":
                assert "aws_security_group.alb.id" in body["security_group_id"]
