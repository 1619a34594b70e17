"""Python hooks from a folder (PocketBase's pb_hooks): `satchel_hooks/*.py` beside the data directory.

Every worker imports the files at start with a module-level `app` (a `Registrar`) to register
hooks and routes on; `satchel serve` checks them first in its main process, so a broken file stops
the server with its file and line instead of failing in every worker, and in `--dev` watches the
folder and restarts the workers after an edit that loads cleanly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from satchel.plugins.hooks_loader.loader import HookFileProblem, HookFilesError, hook_files, load_folder

if TYPE_CHECKING:
    from satchel.config import BootConfig
    from satchel.core.app import App

FOLDER = "satchel_hooks"


def hooks_folder(config: BootConfig) -> Path:
    """`--hooks-dir`, or `satchel_hooks` next to the data directory (as pb_hooks beside pb_data)."""
    return Path(config.hooks_dir) if config.hooks_dir else config.dir.parent / FOLDER


def register(app: App, config: BootConfig) -> None:
    """Load the hook files into `app` (nothing to do, and nothing imported, without any)."""
    folder = hooks_folder(config)
    if hook_files(folder):
        load_folder(folder).bind(app)


def check(config: BootConfig) -> int:
    """Load the hook files once without an App; returns how many, or raises `HookFilesError`."""
    folder = hooks_folder(config)
    files = hook_files(folder)
    if files:
        load_folder(folder)
    return len(files)


__all__ = ["FOLDER", "HookFileProblem", "HookFilesError", "check", "hooks_folder", "register"]
