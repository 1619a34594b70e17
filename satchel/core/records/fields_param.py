"""The `?fields=` query parameter: pick keys (dot paths, `*`) and `:excerpt(max, withEllipsis)`.

Applied to the final JSON (after expand), as PocketBase does, so it works the same for every
response that carries records.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from satchel.core.errors import BadRequestError

_MODIFIER_SEPARATORS = re.compile(r"[(), ]+")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
"""What Go's strconv.ParseBool (through spf13/cast) reads as true; anything else is false."""
_GO_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)")
_INT64 = 1 << 63
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    excerpt: tuple[int, bool] | None = None
    leaf: bool = False


def parse_fields(raw: str, *, strict: bool = True) -> _Node | None:
    """Parse the parameter into a tree; None (no filtering) when empty.

    A modifier PocketBase refuses (unknown, no or bad arguments) fails the request with its 400, as
    PocketBase's picker does; with `strict` off (realtime options, read per event) that key is dropped.
    """
    raw = raw.strip()
    if not raw:
        return None
    root = _Node()
    for part in _split(raw):
        part = part.strip()
        if not part:
            continue
        excerpt: tuple[int, bool] | None = None
        part, colon, modifier = part.partition(":")
        if colon:
            excerpt = _excerpt(modifier)
            if excerpt is None:
                if strict:
                    raise BadRequestError()
                continue
        node = root
        for seg in part.split("."):
            node = node.children.setdefault(seg, _Node())
        node.leaf = True
        node.excerpt = excerpt
    return root


def _excerpt(modifier: str) -> tuple[int, bool] | None:
    """(max, withEllipsis) of `excerpt(max, withEllipsis?)`, None where PocketBase refuses it: it splits
    on parentheses, commas and spaces, wants the name `excerpt` and one or two arguments, and reads
    max as Go's cast does (0 when unreadable; 0 refused, a negative one fails when cutting)."""
    name, *args = [t for t in _MODIFIER_SEPARATORS.split(modifier) if t] or [""]
    if name != "excerpt" or not 1 <= len(args) <= 2:
        return None
    max_len = _go_int(args[0])
    if max_len <= 0:
        return None
    return max_len, len(args) > 1 and args[1] in _GO_TRUE


def _go_int(text: str) -> int:
    """spf13/cast's ToInt: a zero decimal part dropped, then strconv.ParseInt with base prefixes
    (a leading 0 is octal); 0 when that fails or overflows."""
    stripped = re.sub(r"(?<=\d)\.0+$", "", text)
    if not _GO_INT.fullmatch(stripped) or "__" in stripped or stripped.endswith("_"):
        return 0
    sign, digits = (-1, stripped[1:]) if stripped[0] == "-" else (1, stripped.lstrip("+"))
    digits = digits.replace("_", "")
    prefix = digits[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(prefix)
    value = int(digits[2:], base) if base else int(digits, 8 if len(digits) > 1 and digits[0] == "0" else 10)
    value *= sign
    return value if -_INT64 <= value < _INT64 else 0


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
