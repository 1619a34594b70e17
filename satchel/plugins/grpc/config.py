"""What the gRPC server listens on: an address and, for TLS, a certificate and its key."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path


class GrpcConfigError(ValueError):
    """A gRPC option is malformed; raised at start-up with a message naming the option."""


@dataclass(frozen=True, slots=True)
class GrpcConfig:
    address: str
    """HOST:PORT (`[::1]:50051` for IPv6); port 0 picks a free one (tests)."""
    cert_file: str = ""
    """PEM certificate chain: with `key_file`, the server speaks TLS only."""
    key_file: str = ""

    def __post_init__(self) -> None:
        parse_address(self.address)
        if bool(self.cert_file) != bool(self.key_file):
            raise GrpcConfigError("--grpc-cert and --grpc-key go together: give both for TLS, or neither")

    @property
    def tls(self) -> bool:
        return bool(self.cert_file)

    def key_pair(self) -> tuple[bytes, bytes]:
        """(private key, certificate chain) as PEM bytes, read at start-up."""
        try:
            return Path(self.key_file).expanduser().read_bytes(), Path(self.cert_file).expanduser().read_bytes()
        except OSError as exc:
            raise GrpcConfigError(f"--grpc-cert/--grpc-key: cannot read {exc.filename!r} ({exc.strerror})") from exc


def parse_address(value: str) -> tuple[str, int]:
    """(host, port) of `HOST:PORT`; ConfigError-style message naming --grpc otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise GrpcConfigError(f"--grpc expects HOST:PORT, got {value!r}")
    return host, int(port)


def check(address: str, cert_file: str, key_file: str) -> GrpcConfig:
    """The configuration `satchel serve` was given, checked before any worker starts."""
    if not address:
        raise GrpcConfigError("--grpc-cert and --grpc-key need --grpc HOST:PORT")
    config = GrpcConfig(address, cert_file, key_file)
    if config.tls:
        config.key_pair()
    probe_bind(address)
    return config


def probe_bind(address: str) -> None:
    """Bind the address as the workers will (SO_REUSEPORT) and let go: a port held by another
    program fails here, once, rather than in every worker at each of its restarts."""
    host, port = parse_address(address)
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            if hasattr(socket, "SO_REUSEPORT"):
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            probe.bind(where)
    except OSError as exc:
        raise GrpcConfigError(f"--grpc: cannot listen on {address} ({exc.strerror or exc})") from exc
