"""Why a migration stopped; every message names the table or collection and never a value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from satchel.core.migrate.verify import TableCheck


class MigrationError(Exception):
    """The copy cannot be made (or was undone); the target is left as it was."""


class TargetNotEmptyError(MigrationError):
    """The target already holds data; `contents` says what, so the operator can decide on --force."""

    def __init__(self, contents: Sequence[str]) -> None:
        self.contents = list(contents)
        super().__init__("the target is not empty: " + "; ".join(self.contents))


class VerificationError(MigrationError):
    """Counts or id checksums differ between source and target; the copy was rolled back."""

    def __init__(self, checks: Sequence[TableCheck]) -> None:
        self.checks = list(checks)
        bad = [c.name for c in self.checks if not c.ok]
        super().__init__("the copy does not match its source in " + ", ".join(bad))
