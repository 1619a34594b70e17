"""ASGI entry point of the plain-HTTP listener that only redirects to HTTPS (`satchel serve --http
A --https B`): granian serves one address per server, so `launcher` starts a second, one-worker
granian on this target. Reads SATCHEL_HTTPS, which `satchel serve` sets."""

from __future__ import annotations

import os

from satchel.apis.https_redirect import redirect_app
from satchel.config import ENV_PREFIX, parse_http

app = redirect_app(*parse_http(os.environ[ENV_PREFIX + "HTTPS"], option="--https"))
