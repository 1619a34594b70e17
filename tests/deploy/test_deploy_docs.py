"""docs/deploy.md against the files and the code it describes: the configuration table is exactly
what `satchel serve` reads, every path it names exists, and its Terraform example fits the module."""

from __future__ import annotations

import re

import hcl2
from deploy_tools import DEPLOY, DOCS, REPO, boot_env_names


def text() -> str:
    return DOCS.read_text()


def section(title: str) -> str:
    body = text()
    start = body.index(f"## {title}\n")
    end = body.find("\n## ", start + 1)
    return body[start : end if end != -1 else None]


def test_configuration_table_lists_exactly_the_boot_options() -> None:
    rows = re.findall(r"^\| `(SATCHEL_[A-Z_]+)` \|", section("Configuration"), re.MULTILINE)
    assert len(rows) == len(set(rows))
    assert set(rows) == boot_env_names()


def test_every_named_path_exists_and_every_variant_is_documented() -> None:
    named = set(re.findall(r"`(deploy/[\w./-]*)`", text()))
    for path in named:
        assert (REPO / path.rstrip("/")).exists(), path
    for directory in ("docker", "nginx", "compose", "kubernetes/postgres", "kubernetes/sqlite", "terraform/aws"):
        assert (DEPLOY / directory).is_dir()
        assert f"deploy/{directory}/" in text(), directory


def test_terraform_example_sets_every_required_variable_and_no_unknown_one() -> None:
    example = re.search(r"```hcl\n(.*?)```", text(), re.DOTALL)
    assert example
    (call,) = hcl2.loads(example.group(1))["module"]
    given = {k for k in next(iter(call.values())) if not k.startswith("__")} - {"source"}
    declared: dict[str, bool] = {}
    for path in (DEPLOY / "terraform" / "aws").glob("*.tf"):
        for block in hcl2.loads(path.read_text()).get("variable", []):
            for name, body in block.items():
                declared[name.strip('"')] = "default" in body
    assert given <= set(declared)
    assert {name for name, has_default in declared.items() if not has_default} <= given


def test_proxy_trust_is_explained() -> None:
    proxy = section("nginx (`deploy/nginx/`)")
    assert "trustedProxy" in proxy and "X-Real-IP" in proxy
    assert "proxy_set_header X-Real-IP $remote_addr;" in (DEPLOY / "nginx" / "satchel.conf").read_text()
