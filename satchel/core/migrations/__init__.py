"""Schema migrations: Python files in a folder, applied in filename order and recorded in `_migrations`.

Not to be confused with `satchel.core.migrate`, which copies a whole instance between databases.
"""

from __future__ import annotations

from satchel.core.migrations.files import MigrationFile, discover, new_file_name
from satchel.core.migrations.runner import (
    SchemaMigrationError,
    applying,
    history_sync,
    mark_applied,
    revert,
    run_pending,
)
from satchel.core.migrations.store import MIGRATIONS_TABLE, applied

__all__ = [
    "MIGRATIONS_TABLE",
    "MigrationFile",
    "SchemaMigrationError",
    "applied",
    "applying",
    "discover",
    "history_sync",
    "mark_applied",
    "new_file_name",
    "revert",
    "run_pending",
]
