"""The committed generated modules and the proto published in docs/grpc.md match proto/satchel/v1/records.proto."""

from __future__ import annotations

import re
from pathlib import Path

from satchel.plugins.grpc import codegen

DOC = Path(__file__).resolve().parents[3] / "docs" / "grpc.md"


def test_the_committed_generated_modules_are_not_stale() -> None:
    expected = codegen.generate()
    assert set(expected) == set(codegen.FILES)
    stale = [name for name, content in expected.items() if (codegen.GEN / name).read_bytes() != content]
    assert not stale, f"regenerate with `python -m satchel.plugins.grpc.codegen`: {stale} differ"


def test_the_service_module_imports_its_messages_from_this_package() -> None:
    text = (codegen.GEN / "records_pb2_grpc.py").read_text()
    assert "from satchel.plugins.grpc.gen import records_pb2 as" in text and "from satchel.v1" not in text


def test_the_docs_publish_the_proto_as_it_is() -> None:
    blocks = re.findall(r"```protobuf\n(.*?)```", DOC.read_text(), re.S)
    assert blocks == [(codegen.PROTO_ROOT / codegen.PROTO).read_text()]
