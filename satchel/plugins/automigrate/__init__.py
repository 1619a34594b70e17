"""Automigrate: in `--dev`, every collection change writes a migration file that reproduces it.

`register(app, {"dir": FOLDER})` binds the collection hooks; `satchel serve --dev` does it.
"""

from __future__ import annotations

from satchel.plugins.automigrate.plugin import AutoMigrate, register

__all__ = ["AutoMigrate", "register"]
