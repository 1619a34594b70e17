"""The check of the commands that work on an instance that already exists (`openapi export`,
`backup list`, `migrate down`, `keys rotate`, ...): a `--dir` that holds no database is refused
before anything is opened.

Opening the app creates what is missing, as `satchel serve` wants it to: so these commands, given a
mistyped or empty directory, used to create a fresh `data.db` and `auxiliary.db` there and answer
from that empty instance with exit code 0 (an OpenAPI document of no collections, "No backups."),
hiding the mistake and leaving the files behind. `serve`, `migrate up`, `superuser upsert` and
`backup restore` still create the instance: making or refilling one is what they are for.

With a PostgreSQL `--db` the directory holds only files, so there is nothing to check here.
"""

from __future__ import annotations

from pathlib import Path

import click

from satchel.config import SQLITE_DB, BootConfig, is_postgres, parse_db_url


def require_database(cfg: BootConfig) -> None:
    """Refuse (exit code 1, nothing created) when the SQLite database `cfg` names does not exist."""
    from satchel.wiring import DB_FILE  # as the commands import it: only once they run

    url = parse_db_url(cfg.db)
    if is_postgres(url):
        return
    file = url.removeprefix(SQLITE_DB)
    if file:
        if not Path(file).is_file():
            raise click.ClickException(f"No database at {file}: check --db (env SATCHEL_DB).")
    elif not (cfg.dir / DB_FILE).is_file():
        raise click.ClickException(
            f"No Satchel database in {cfg.dir} (no {DB_FILE}): check --dir (env SATCHEL_DIR). "
            "`satchel serve` or `satchel migrate up` creates one."
        )
