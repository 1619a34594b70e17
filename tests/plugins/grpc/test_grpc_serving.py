"""How `satchel serve --grpc` serves: reflection and health next to the API, TLS with a certificate
made here, and the options refused before any worker starts."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from satchel.cli.main import main
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen import records_pb2_grpc
from tests.apis.test_api_realtime import free_port, healthy
from tests.apis.test_api_realtime_scaleout import Serve
from tests.plugins.grpc.servers import GrpcServe, error_body, running, start, wait_ready
from tests.smtp_server import self_signed_certificate


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrpcServe]:
    s = start(tmp_path_factory.mktemp("grpc-serving") / "data")
    yield s
    s.serve.stop()


def test_reflection_describes_the_service(server: GrpcServe) -> None:
    with grpc.insecure_channel(server.target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        service = DescriptorPool(database).FindServiceByName("satchel.v1.Records")
        methods = {m.name: (m.input_type.full_name, m.output_type.full_name) for m in service.methods}
    assert {"satchel.v1.Records", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services
    assert methods["Watch"] == ("satchel.v1.WatchRequest", "satchel.v1.ChangeEvent")
    assert set(methods) == {"List", "Get", "Create", "Update", "Delete", "Watch"}
    assert service.methods_by_name["Watch"].server_streaming  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", ["", "satchel.v1.Records"])
def test_health_reports_serving(server: GrpcServe, service: str) -> None:
    with grpc.insecure_channel(server.target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_tls_with_a_certificate_and_key(tmp_path: Path) -> None:
    cert = self_signed_certificate(tmp_path)
    cert_file, key_file = cert.cert_file, cert.key_file
    server = start(tmp_path / "data", "--grpc-cert", str(cert_file), "--grpc-key", str(key_file))
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert_file.read_bytes())
        wait_ready(grpc.secure_channel(server.target, credentials), server.serve)
        with grpc.secure_channel(server.target, credentials) as channel:
            reply = records_pb2_grpc.RecordsStub(channel).List(pb.ListRequest(collection="users"))
        assert (reply.page, reply.per_page) == (1, 30)
        with grpc.insecure_channel(server.target) as plain, pytest.raises(grpc.RpcError) as caught:
            records_pb2_grpc.RecordsStub(plain).List(pb.ListRequest(collection="users"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # no plaintext on a TLS port
    finally:
        server.serve.stop()


def test_with_https_the_grpc_port_uses_its_certificate(tmp_path: Path) -> None:
    cert = self_signed_certificate(tmp_path)
    cert_file, key_file = cert.cert_file, cert.key_file
    https = f"127.0.0.1:{free_port()}"
    tls = ["--https", https, "--tls-cert", str(cert_file), "--tls-key", str(key_file)]
    server = start(tmp_path / "data", *tls)  # no --grpc-cert: the HTTPS one
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert_file.read_bytes())
        wait_ready(grpc.secure_channel(server.target, credentials), server.serve)
        with grpc.secure_channel(server.target, credentials) as channel:
            reply = records_pb2_grpc.RecordsStub(channel).List(pb.ListRequest(collection="users"))
        assert (reply.page, reply.per_page) == (1, 30)
        with grpc.insecure_channel(server.target) as plain, pytest.raises(grpc.RpcError) as caught:
            records_pb2_grpc.RecordsStub(plain).List(pb.ListRequest(collection="users"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.serve.stop()


def test_with_https_self_signed_the_grpc_port_uses_the_development_certificate(tmp_path: Path) -> None:
    """`--tls-self-signed` is HTTPS's certificate as much as `--tls-cert` is: gRPC must not stay in clear."""
    https = f"127.0.0.1:{free_port()}"
    server = start(tmp_path / "data", "--https", https, "--tls-self-signed")
    try:
        dev_cert = tmp_path / "data" / "tls" / "dev-cert.pem"
        credentials = grpc.ssl_channel_credentials(root_certificates=dev_cert.read_bytes())
        wait_ready(grpc.secure_channel(server.target, credentials), server.serve)
        with grpc.secure_channel(server.target, credentials) as channel:
            reply = records_pb2_grpc.RecordsStub(channel).List(pb.ListRequest(collection="users"))
        assert (reply.page, reply.per_page) == (1, 30)
        with grpc.insecure_channel(server.target) as plain, pytest.raises(grpc.RpcError) as caught:
            records_pb2_grpc.RecordsStub(plain).List(pb.ListRequest(collection="users"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.serve.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grpc", "nonsense"], "--grpc expects HOST:PORT, got 'nonsense'"),
        (["--grpc-cert", "c.pem", "--grpc-key", "k.pem"], "--grpc-cert and --grpc-key need --grpc HOST:PORT"),
        (["--grpc", "127.0.0.1:0", "--grpc-cert", "c.pem"], "--grpc-cert and --grpc-key go together"),
        (["--grpc", "127.0.0.1:0", "--grpc-cert", "c.pem", "--grpc-key", "k.pem"], "cannot read 'k.pem'"),
    ],
)
def test_bad_grpc_options_stop_the_start(tmp_path: Path, args: list[str], message: str) -> None:
    refused_before_start(tmp_path, args, message)


def refused_before_start(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "data"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_a_port_held_by_another_program_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        refused_before_start(tmp_path, ["--grpc", f"127.0.0.1:{port}"], f"--grpc: cannot listen on 127.0.0.1:{port}")


async def test_stopping_the_server_ends_watch_streams_and_exits(tmp_path: Path) -> None:
    server = start(tmp_path / "data")
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            call = records_pb2_grpc.RecordsStub(channel).Watch(pb.WatchRequest(collection="users"))
            await asyncio.wait_for(call.initial_metadata(), 20)
            server.serve.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(call.read(), 30) is grpc.aio.EOF  # ended by the server, cleanly
            assert await call.code() == grpc.StatusCode.OK
        assert server.serve.proc.wait(30) == 0
    finally:
        server.serve.stop()


async def test_the_superuser_ip_allow_list_applies_to_calls(tmp_path: Path) -> None:
    with running(tmp_path / "data") as server:
        async with server.stub() as stub:
            assert (await stub.List(pb.ListRequest(collection="secrets"), metadata=server.auth("superuser"))).page == 1
            with server.rest() as http:
                r = http.patch(
                    "/api/settings", headers=server.headers("superuser"), json={"superuserIPs": ["10.9.9.9"]}
                )
                assert r.status_code == 200, r.text
                refused = http.get("/api/collections/secrets/records", headers=server.headers("superuser"))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.List(pb.ListRequest(collection="secrets"), metadata=server.auth("superuser"))
    assert refused.status_code == 403 and caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_body(caught.value) == refused.json()


def test_calls_print_request_lines_with_log_requests(tmp_path: Path) -> None:
    http_port, target = free_port(), f"127.0.0.1:{free_port()}"
    command = [
        sys.executable,
        "-m",
        "satchel.cli.main",
        "serve",
        "--dir",
        str(tmp_path / "data"),
        "--http",
        f"127.0.0.1:{http_port}",
        "--grpc",
        target,
        "--log-requests",
        "--log-format",
        "json",
    ]
    with (tmp_path / "stdout").open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)
        server = Serve(proc, f"http://127.0.0.1:{http_port}", tmp_path / "data")
        try:
            assert healthy(server.url, proc)
            wait_ready(grpc.insecure_channel(target), server)
            with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError):
                records_pb2_grpc.RecordsStub(channel).List(pb.ListRequest(collection="nope"))
            proc.send_signal(signal.SIGTERM)  # the buffered lines are written at shutdown
            assert proc.wait(30) == 0
        finally:
            server.stop()
    lines = [json.loads(line) for line in (tmp_path / "stdout").read_text().splitlines() if line.startswith("{")]
    calls = [line for line in lines if line.get("type") == "request" and line["path"].startswith("/satchel.v1.")]
    assert [(c["msg"], c["status"], c["errorMessage"]) for c in calls] == [
        ("POST /satchel.v1.Records/List 404", 404, "Missing collection context.")
    ]
