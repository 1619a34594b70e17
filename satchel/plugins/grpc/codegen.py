"""Regenerates the committed Python modules in `gen/` from `proto/satchel/v1/records.proto`.

Run `python -m satchel.plugins.grpc.codegen` after editing the .proto (grpcio-tools, from the
`test` extra, brings protoc). The modules are committed so that a server needs only grpcio and
protobuf at run time; tests/plugins/grpc/test_grpc_codegen.py fails when they are stale.

protoc names the generated modules after the proto package (`satchel.v1`), which is not an
importable path inside this package: the one import the service module makes is rewritten.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROTO_ROOT = REPO / "proto"
PROTO = "satchel/v1/records.proto"
GEN = Path(__file__).resolve().parent / "gen"
FILES = ("records_pb2.py", "records_pb2.pyi", "records_pb2_grpc.py")
_IMPORT = "from satchel.v1 import records_pb2"
_LOCAL_IMPORT = "from satchel.plugins.grpc.gen import records_pb2"


def generate() -> dict[str, bytes]:
    """The generated modules by file name, as they should be committed."""
    from grpc_tools import protoc  # build-time only: grpcio-tools ships protoc

    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{Path(protoc.__file__).parent / '_proto'}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            str(PROTO_ROOT / PROTO),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {PROTO}")
        out = Path(tmp) / "satchel" / "v1"
        files = {name: (out / name).read_bytes() for name in FILES}
    files["records_pb2_grpc.py"] = files["records_pb2_grpc.py"].replace(_IMPORT.encode(), _LOCAL_IMPORT.encode())
    return files


def main() -> int:
    for name, content in generate().items():
        (GEN / name).write_bytes(content)
        print(f"wrote {GEN / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
