"""Diff two normalised scenario transcripts (reference vs candidate) into human-readable lines.

The scenarios are sequential and deterministic, so exchanges are aligned by position; a differing step
label means the candidate took a different path (misalignment), which is reported rather than hidden.
An empty result means "identical", which is what the conformance tests assert.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True)[:200]


def deep_diff(ref: Any, cand: Any, path: str, ignore: frozenset[str], out: list[str]) -> None:
    if isinstance(ref, dict) and isinstance(cand, dict):
        for key in sorted(set(ref) | set(cand)):
            if key in ignore:
                continue
            sub = f"{path}.{key}"
            if key not in ref:
                out.append(f"{sub}: only in candidate = {_short(cand[key])}")
            elif key not in cand:
                out.append(f"{sub}: missing in candidate (reference = {_short(ref[key])})")
            else:
                deep_diff(ref[key], cand[key], sub, ignore, out)
    elif isinstance(ref, list) and isinstance(cand, list):
        if len(ref) != len(cand):
            out.append(f"{path}: list length {len(ref)} != {len(cand)}")
        for i, (x, y) in enumerate(zip(ref, cand, strict=False)):
            deep_diff(x, y, f"{path}[{i}]", ignore, out)
    # bool is an int subclass and 1 == 1.0: the wire type matters to SDK users, so compare types too
    elif ref != cand or type(ref) is not type(cand):
        out.append(f"{path}: {_short(ref)} != {_short(cand)}")


def _media_type(value: Any) -> str:
    return str(value or "").split(";")[0].strip()


def _exchange_diffs(ref: dict[str, Any], cand: dict[str, Any], ignore: frozenset[str]) -> list[str]:
    diffs: list[str] = []
    if ref.get("step") != cand.get("step"):
        diffs.append(f"step label differs: {ref.get('step')!r} vs {cand.get('step')!r} (misaligned?)")
    for key in ("method", "path"):
        a, b = ref.get("request", {}).get(key), cand.get("request", {}).get(key)
        if a != b:
            diffs.append(f"request.{key}: {a} != {b}")
    rres, cres = ref.get("response") or {}, cand.get("response") or {}
    if rres.get("status") != cres.get("status"):
        diffs.append(f"status: {rres.get('status')} != {cres.get('status')}")
    if _media_type(rres.get("contentType")) != _media_type(cres.get("contentType")):
        diffs.append(f"contentType: {rres.get('contentType')} != {cres.get('contentType')}")
    deep_diff(rres.get("body"), cres.get("body"), "body", ignore, diffs)
    if ref.get("error") != cand.get("error"):
        diffs.append(f"transport error: {ref.get('error')!r} != {cand.get('error')!r}")
    return diffs


def diff_transcripts(
    ref: dict[str, Any],
    cand: dict[str, Any],
    ignore_keys: Iterable[str] = (),
    max_per_exchange: int = 15,
) -> list[str]:
    """Lines describing every difference; [] when the transcripts are identical."""
    ignore = frozenset(ignore_keys)
    out: list[str] = []
    rex, cex = ref.get("exchanges", []), cand.get("exchanges", [])
    if len(rex) != len(cex):
        out.append(f"exchange count differs: reference {len(rex)} vs candidate {len(cex)}")
    for i, (r, c) in enumerate(zip(rex, cex, strict=False)):
        diffs = _exchange_diffs(r, c, ignore)
        if diffs:
            req = r.get("request", {})
            out.append(f"#{i} [{r.get('step')}] {req.get('method')} {req.get('path')}")
            out.extend(f"   {d}" for d in diffs[:max_per_exchange])
            if len(diffs) > max_per_exchange:
                out.append(f"   ... {len(diffs) - max_per_exchange} more")
    # everything outside the exchange list (checks, realtime, token claims) must match as a whole
    for key in sorted((set(ref) | set(cand)) - {"exchanges"} - ignore):
        deep_diff(ref.get(key), cand.get(key), key, ignore, out)
    return out


def format_diff(lines: list[str], limit: int = 300) -> str:
    shown = lines[:limit]
    more = f"\n... {len(lines) - limit} more lines" if len(lines) > limit else ""
    return "\n".join(shown) + more
