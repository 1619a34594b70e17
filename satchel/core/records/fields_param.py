"""The `?fields=` query parameter: pick keys (dot paths, `*`) and `:excerpt(max, withEllipsis)`.

Applied to the final JSON (after expand), as PocketBase does, so it works the same for every
response that carries records.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_EXCERPT = re.compile(r"^(?P<name>[^:]+):excerpt\((?P<max>\d+)\s*(?:,\s*(?P<ell>true|false|1|0|t|f)\s*)?\)$", re.I)
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    excerpt: tuple[int, bool] | None = None
    leaf: bool = False


def parse_fields(raw: str) -> _Node | None:
    """Parse the parameter into a tree; None (no filtering) when empty."""
    raw = raw.strip()
    if not raw:
        return None
    root = _Node()
    for part in _split(raw):
        part = part.strip()
        if not part:
            continue
        excerpt: tuple[int, bool] | None = None
        m = _EXCERPT.match(part)
        if m:
            part = m.group("name")
            ell = (m.group("ell") or "false").lower() in ("true", "1", "t")
            excerpt = (int(m.group("max")), ell)
        node = root
        for seg in part.split("."):
            node = node.children.setdefault(seg, _Node())
        node.leaf = True
        node.excerpt = excerpt
    return root


def _split(raw: str) -> list[str]:
    """Split on commas that are not inside parentheses (`a:excerpt(10,true),b`)."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in raw:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def excerpt(value: str, max_len: int, ellipsis: bool) -> str:
    text = _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", value))).strip()
    if len(text) <= max_len:
        return text
    cut = text[:max_len].rstrip()
    return cut + "..." if ellipsis else cut


def apply_fields(data: Any, tree: _Node | None) -> Any:
    if tree is None:
        return data
    if isinstance(data, list):
        return [apply_fields(item, tree) for item in data]
    if not isinstance(data, dict):
        return data
    star = tree.children.get("*")
    out: dict[str, Any] = {}
    for key, value in data.items():
        node = tree.children.get(key)
        use = node if node is not None else star
        if use is None:
            continue
        if use.excerpt is not None and isinstance(value, str):
            out[key] = excerpt(value, *use.excerpt)
        elif use.children:
            out[key] = apply_fields(value, use)
        else:
            out[key] = value
    return out


def select_list_fields(result: dict[str, Any], tree: _Node | None) -> dict[str, Any]:
    """Apply to a list envelope: PocketBase filters the items, or the envelope when `items` is named."""
    if tree is None:
        return result
    if "items" in tree.children:
        return apply_fields(result, tree)  # type: ignore[no-any-return]
    return {**result, "items": apply_fields(result["items"], tree)}
