"""Who may read `/metrics`: a bearer token and/or an IP allow-list, checked in constant time.

With neither configured only loopback clients may scrape (metrics name collections, routes and
rule labels: not for the whole internet). The allow-list is matched against the connection's peer
address, never a forwarded header a client could write itself: scrape directly, or use the token.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from satchel.config import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def parse_allow_list(value: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks (`10.0.0.0/8, 192.168.1.5`)."""
    networks = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"SATCHEL_METRICS_ALLOW: {item!r} is not an IP address or network") from exc
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class Access:
    token: str
    allow: tuple[Network, ...]

    @staticmethod
    def from_config(token: str, allow: str) -> Access:
        networks = parse_allow_list(allow)
        if not token and not networks:
            networks = LOOPBACK
        return Access(token, networks)

    def ip_allowed(self, peer: str) -> bool:
        if not self.allow:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow)

    def token_valid(self, authorization: str) -> bool:
        if not self.token:
            return True
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())
