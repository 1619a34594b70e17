"""What changed between two versions of a collection's JSON, key by top-level key.

A changed key is written whole (the full `fields` list, the full `passwordAuth` object): applying
it gives exactly the new value, and the old value reverts it. A view's `fields` are derived from
its query, but carried too: a derived field keeps the id it is given, so replays match id for id.
"""

from __future__ import annotations

from typing import Any

from satchel.core.migrations.templates import TIMESTAMPS


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old values, new values) of the keys that differ; both empty when nothing did."""
    skip = set(TIMESTAMPS)
    keys = [k for k in after if k not in skip and before.get(k) != after[k]]
    keys += [k for k in before if k not in skip and k not in after]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
