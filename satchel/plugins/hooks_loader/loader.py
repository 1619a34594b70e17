"""Importing `satchel_hooks/*.py`: each file runs with a module-level `app` to register on.

Files are compiled from source on every load (no bytecode cache beside them, so an edit is never
shadowed by a stale `.pyc`) as modules of a `satchel_hooks` package rooted at the folder, so a hook
file can import a helper with `from satchel_hooks._util import ...`. Files whose names start with `_`
are helpers, not loaded on their own. A failure is reported as the file and line it happened on.
"""

from __future__ import annotations

import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from satchel.plugins.extend.registrar import Registrar

PACKAGE = "satchel_hooks"


@dataclass(frozen=True, slots=True)
class HookFileProblem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}: {self.message}"


class HookFilesError(Exception):
    """One or more hook files failed to load; the message lists each (file, line, error)."""

    def __init__(self, problems: list[HookFileProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"cannot load the Python hooks:\n{lines}")


def hook_files(folder: Path) -> list[Path]:
    """The files loaded, in name order (so `10_auth.py` runs before `20_posts.py`)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith(("_", ".")))


def load_folder(folder: Path) -> Registrar:
    """Run every hook file against one fresh registrar; raises `HookFilesError` naming each failure."""
    registrar = Registrar()
    _forget_previous()
    sys.modules[PACKAGE] = _package(folder)
    problems = []
    for path in hook_files(folder):
        try:
            load_file(path, registrar)
        except (Exception, SystemExit) as exc:
            problems.append(describe(path, exc))
    if problems:
        raise HookFilesError(problems)
    return registrar


def load_file(path: Path, registrar: Registrar) -> types.ModuleType:
    name = f"{PACKAGE}.{path.stem}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.app = registrar  # type: ignore[attr-defined]  # the documented module-level `app`
    sys.modules[name] = module
    try:
        code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - running the operator's own hook files is the feature
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def describe(path: Path, exc: BaseException) -> HookFileProblem:
    """Where in the hook folder it failed: the deepest frame in a file of the folder, or the file."""
    folder = path.parent.resolve()
    if isinstance(exc, SyntaxError) and exc.filename:
        return HookFileProblem(Path(exc.filename), exc.lineno or 0, f"{type(exc).__name__}: {exc.msg}")
    where, line = path, 0
    for frame in traceback.extract_tb(exc.__traceback__):
        frame_path = Path(frame.filename)
        if frame_path.resolve().parent == folder:
            where, line = frame_path, frame.lineno or 0
    text = str(exc)
    return HookFileProblem(where, line, f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _package(folder: Path) -> types.ModuleType:
    package = types.ModuleType(PACKAGE)
    package.__path__ = [str(folder)]
    return package


def _forget_previous() -> None:
    """Drop modules of an earlier load, so helpers are read again too (a reload sees edits)."""
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]
