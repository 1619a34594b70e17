"""ASGI entry point for servers started by path (`granian satchel.asgi:app`).

The boot configuration comes from `SATCHEL_*` environment variables, which `satchel serve`
sets for its worker processes.
"""

from __future__ import annotations

from satchel.apis.shutdown import install_granian_hook
from satchel.config import BootConfig
from satchel.wiring import build_asgi

install_granian_hook()  # before granian sets up this worker's signal handlers
app = build_asgi(BootConfig.from_env())
