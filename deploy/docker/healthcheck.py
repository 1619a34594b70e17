"""Container health probe: exit 0 when Satchel answers `GET /api/health` with 200, 1 otherwise.

A separate script rather than `curl` because the slim Python image has no curl, and installing one
would add a package (and its CVEs) to the runtime image for a single request. It reads the port from
`SATCHEL_HTTP`, so an image started with another port still reports its health correctly.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_HTTP = "0.0.0.0:8090"
TIMEOUT = 3.0


def health_url(http: str) -> str:
    """The loopback URL of the health endpoint for a `HOST:PORT` listen address."""
    host, _, port = http.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a listen address, mapped to loopback here
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/api/health"


def main() -> int:
    url = health_url(os.environ.get("SATCHEL_HTTP", DEFAULT_HTTP))
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - a fixed http URL
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
