"""`satchel migrate-data --from SOURCE --to TARGET`: a whole instance into another database.

SOURCE and TARGET are `sqlite:PATH`, a path to a `data.db`, a data directory (a Satchel one or
PocketBase's `pb_data`), or a PostgreSQL URL. The source is only read. When the source is a
directory its uploaded files (`storage/`) are copied too, into the target's directory (for a
PostgreSQL target: `--dir`, the directory `satchel serve --dir` will use). Servers on the target
must be stopped; the source should be (writes made during the copy fail the verification).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from satchel.config import BootConfig, ConfigError, redact_url

if TYPE_CHECKING:
    from satchel.core.migrate.run import Report, Step, StorageCopy
    from satchel.core.migrate.verify import TableCheck

DB_FILE = "data.db"
POSTGRES_SCHEMES = ("postgres://", "postgresql://")
SQLITE_PREFIX = "sqlite:"


@dataclass(frozen=True, slots=True)
class Location:
    """Where an instance lives: its database (file path or URL) and, for SQLite, its directory."""

    database: str
    data_dir: Path | None
    """The directory holding `data.db` and `storage/`; None for a PostgreSQL URL."""
    whole_dir: bool
    """Given as a data directory: its files travel with the database."""

    @property
    def shown(self) -> str:
        return redact_url(self.database) if self.data_dir is None else self.database


def parse_location(value: str, *, source: bool) -> Location:
    """Read `--from`/`--to`; raises click.BadParameter with what was expected."""
    option = "--from" if source else "--to"
    if value.startswith(POSTGRES_SCHEMES):
        return Location(value, None, whole_dir=False)
    raw = value[len(SQLITE_PREFIX) :] if value.startswith(SQLITE_PREFIX) else value
    raw = raw.removeprefix("//") if value.startswith(SQLITE_PREFIX + "//") else raw
    if not raw:
        raise click.BadParameter(
            "expects sqlite:PATH, a data.db file, a data directory or postgres://...", param_hint=option
        )
    path = Path(raw).expanduser()
    if path.is_dir():
        database = path / DB_FILE
        if source and not database.is_file():
            raise click.BadParameter(f"the directory {path} holds no {DB_FILE}", param_hint=option)
        return Location(str(database), path, whole_dir=True)
    if path.exists() or path.suffix == ".db":
        if source and not path.is_file():
            raise click.BadParameter(f"{path} is not a database file", param_hint=option)
        return Location(str(path), path.parent, whole_dir=False)
    if source:
        raise click.BadParameter(f"{path} does not exist", param_hint=option)
    return Location(str(path / DB_FILE), path, whole_dir=True)


class _Bars:
    """One progress bar over all rows (showing the current table), then one over the files."""

    def __init__(self) -> None:
        self._phase = ""
        self._bar: Any = None
        self._done = 0

    def __call__(self, step: Step) -> None:
        if step.phase != self._phase:
            self.close()
            self._phase, self._done = step.phase, 0
            if step.phase == "verify":
                click.echo("Verifying counts and ids...", err=True)
                return
            label = "Copying files" if step.phase == "files" else "Copying rows"
            self._bar = click.progressbar(
                length=max(step.overall_total, 1), label=label, file=sys.stderr, item_show_func=lambda item: item
            )
            self._bar.render_progress()
        if self._bar is None:
            return
        current = f"{step.name} {step.done}/{step.total}" if step.phase == "rows" else None
        self._bar.update(step.overall_done - self._done, current)
        self._done = step.overall_done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


def check_table(checks: list[TableCheck]) -> str:
    """The verification as a table: one line per table and view, mismatches marked."""
    width = max((len(c.name) for c in checks), default=5)
    lines = [f"{'table':<{width}}  {'source':>9}  {'target':>9}  ids"]
    for c in checks:
        ids = "-" if not c.source_ids and not c.target_ids else "same" if c.source_ids == c.target_ids else "DIFFER"
        mark = "" if c.ok else "   <- MISMATCH"
        lines.append(f"{c.name:<{width}}  {c.source_rows:>9}  {c.target_rows:>9}  {ids}{mark}")
    return "\n".join(lines)


def _same(a: Location, b: Location) -> bool:
    if a.data_dir is None or b.data_dir is None:
        return a.database == b.database
    return Path(a.database).resolve() == Path(b.database).resolve()


def _target_dir(target: Location, data_dir: str | None) -> Path:
    if target.data_dir is not None:
        if data_dir is not None:
            raise click.UsageError("--dir is for a PostgreSQL target; a SQLite target keeps its files beside it")
        return target.data_dir
    try:
        return BootConfig.from_env(dir=data_dir).dir
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _server_running(data_dir: Path) -> bool:
    from satchel.core.backups.schedule import LOCK_FILE
    from satchel.tools.file_lock import FileLock

    return FileLock(data_dir / LOCK_FILE).holder_note() is not None


def _storage(source: Location, target_dir: Path) -> StorageCopy | None:
    from satchel.core.files.storages import STORAGE_DIR
    from satchel.core.migrate.run import StorageCopy

    if source.whole_dir and source.data_dir is not None:
        return StorageCopy(source.data_dir, target_dir)
    if source.data_dir is not None and (source.data_dir / STORAGE_DIR).is_dir():
        click.echo(
            f"Note: files are not copied when --from names a database file: copy {source.data_dir / STORAGE_DIR} "
            f"to {target_dir / STORAGE_DIR} yourself, or pass the data directory {source.data_dir} to --from.",
            err=True,
        )
    return None


def _summary(report: Report, storage: StorageCopy | None) -> str:
    tables = [c for c in report.checks if not c.view]
    out = f"Copied {sum(c.target_rows for c in tables)} row(s) in {len(tables)} table(s)"
    if storage is not None:
        out += f" and {report.files or 0} file(s) into {storage.target_dir}"
    return out + "; counts and ids match the source."


async def _run(source: Location, target: Location, storage: StorageCopy | None, force: bool, batch: int) -> Report:
    from satchel.core.migrate.errors import MigrationError
    from satchel.core.migrate.run import migrate
    from satchel.plugins.events import migrate_data as events_tables
    from satchel.ports.database import DatabaseError
    from satchel.wiring import migration_database

    try:
        src = migration_database(source.database, read_only=True)
    except DatabaseError as exc:
        raise MigrationError(f"the source cannot be opened: {exc}") from exc
    try:
        try:
            dst = migration_database(target.database)
        except DatabaseError as exc:
            raise MigrationError(f"the target cannot be opened: {exc}") from exc
        try:
            bars = _Bars()
            try:
                return await migrate(
                    src,
                    dst,
                    force=force,
                    batch_size=batch,
                    progress=bars,
                    storage=storage,
                    plugin_tables=events_tables.tables(),
                )
            finally:
                bars.close()
        finally:
            await dst.close()
    finally:
        await src.close()


@click.command("migrate-data")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="SOURCE",
    help="sqlite:PATH, a data.db, a data directory "
    "(Satchel's or PocketBase's pb_data: its files are copied too) or postgres://USER:PASS@HOST/DB.",
)
@click.option("--to", "target", required=True, metavar="TARGET", help="Where the copy goes, in the same forms.")
@click.option(
    "--dir",
    "data_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="With a PostgreSQL target: the data directory for uploaded files (env SATCHEL_DIR; default ./satchel_data).",
)
@click.option("--force", is_flag=True, help="Replace whatever the target holds (it is listed first).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Rows read per query (memory stays bounded by one batch).",
)
def migrate_data(source: str, target: str, data_dir: str | None, force: bool, batch_size: int) -> None:
    """Copy a whole instance (collections, records, settings, files) into another database."""
    from satchel.core.migrate.errors import MigrationError, TargetNotEmptyError, VerificationError

    src = parse_location(source, source=True)
    dst = parse_location(target, source=False)
    if _same(src, dst):
        raise click.UsageError("--from and --to name the same database")
    target_dir = _target_dir(dst, data_dir)
    if _server_running(target_dir):
        raise click.ClickException(f"A server is running on {target_dir}: stop it before migrating into it.")
    if src.data_dir is not None and _server_running(src.data_dir):
        click.echo("Warning: a server is running on the source; writes made during the copy fail the check.", err=True)
    storage = _storage(src, target_dir)
    click.echo(f"Copying {src.shown} -> {dst.shown}", err=True)
    try:
        report = asyncio.run(_run(src, dst, storage, force, batch_size))
    except TargetNotEmptyError as exc:
        listed = "".join(f"\n  - {item}" for item in exc.contents)
        raise click.ClickException(
            f"The target is not empty:{listed}\nRun again with --force to replace it (nothing was changed)."
        ) from exc
    except VerificationError as exc:
        click.echo(check_table(exc.checks))
        raise click.ClickException(f"{exc}. The copy was rolled back: the target is as it was.") from exc
    except MigrationError as exc:
        raise click.ClickException(f"{exc}. Nothing was changed on the target.") from exc
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    for note in report.notes:
        click.echo(f"Note: {note}", err=True)
    if report.replaced:
        click.echo("Replaced: " + "; ".join(report.replaced), err=True)
    click.echo(check_table(report.checks))
    click.echo(_summary(report, storage))
