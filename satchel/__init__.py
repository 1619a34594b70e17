"""Satchel: a PocketBase-compatible backend in Python."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from satchel.library import Satchel


def __getattr__(name: str) -> Any:
    # imported on first use: `import satchel.tools...` must not load the whole server
    if name == "Satchel":
        from satchel.library import Satchel

        return Satchel
    raise AttributeError(f"module 'satchel' has no attribute {name!r}")


__all__ = ["Satchel", "__version__"]
