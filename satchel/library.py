"""Satchel as a library: `from satchel import Satchel`, hooks and routes in your own program.

A thin facade over the composition root: the same boot configuration, wiring and server start as
`satchel serve`, plus the registrar's decorators. Each ASGI app it builds gets its own App with
every registration bound, so `serve(workers=N)` works the same as N copies of `asgi()`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from satchel.config import BootConfig, parse_http
from satchel.plugins.extend import Registrar


class Satchel(Registrar):
    """`app = Satchel(dir="./satchel_data")`; decorate handlers; then `app.serve()` or `app.asgi()`.

    Options not given come from `SATCHEL_*` environment variables, then the defaults, as for
    `satchel serve`: `db` (`sqlite:` or `postgres://...`), `cache_url`, `broker_url`, `hooks_dir`
    (hook files are loaded from `satchel_hooks` next to `dir` when that folder exists).
    """

    def __init__(self, dir: str | Path | None = None, *, dev: bool | None = None, **options: Any) -> None:
        super().__init__()
        self.config = BootConfig.from_env(dir=dir, dev=dev, **options)
        self.config.dir = self.config.dir.resolve()

    def asgi(self) -> Starlette:
        """An ASGI app for any server (uvicorn, hypercorn, granian, an in-process test client).

        The server must run its lifespan: start-up bootstraps the database and runs `on_serve`.
        """
        from satchel.wiring import build_asgi

        return build_asgi(self.config, extend=self.bind, own_process=False)

    def _worker_asgi(self) -> Starlette:
        from satchel.wiring import build_asgi

        return build_asgi(self.config, extend=self.bind)

    def serve(self, http: str = "127.0.0.1:8090", *, workers: int = 1, dev: bool | None = None) -> None:
        """Run the server like `satchel serve --http HTTP --workers N` until interrupted."""
        from satchel import launcher

        parse_http(http)
        self.config = replace(self.config, http=http, workers=workers, dev=self.config.dev if dev is None else dev)
        launcher.prepare(self.config)
        launcher.run(self.config, loader=self._worker_asgi)
