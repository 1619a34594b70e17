"""The Python examples of docs/hooks.md, by the file name on their first line (`# satchel_hooks/x.py`)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
BLOCK = re.compile(r"```python\n# (?P<name>[\w/.]+\.py)\n(?P<code>.*?)```", re.S)


def examples() -> dict[str, str]:
    found: dict[str, str] = {}
    for m in BLOCK.finditer(DOC.read_text()):
        assert m["name"] not in found, f"two examples named {m['name']}"
        found[m["name"]] = m["code"]
    return found


def hook_files() -> dict[str, str]:
    """`name.py` -> code of every `satchel_hooks/` example."""
    return {name.split("/", 1)[1]: code for name, code in examples().items() if name.startswith("satchel_hooks/")}


def write_hook_files(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, code in hook_files().items():
        (folder / name).write_text(code)
    return sorted(hook_files())
