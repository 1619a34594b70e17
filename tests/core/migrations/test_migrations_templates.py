"""Generated migration source: collection JSON written as Python literals reads back unchanged."""

from __future__ import annotations

import ast
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from satchel.core.migrations.templates import blank, created, deleted, full_snapshot, literal, updated

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_a_literal_evaluates_back_to_its_value(value: Any) -> None:
    assert ast.literal_eval(literal(value)) == value


def test_every_template_is_valid_python_with_async_up_and_down() -> None:
    c = {"id": "pbc_1", "name": "notes", "type": "base", "fields": [], "created": "x", "updated": "y"}
    for source in (blank(), full_snapshot([c]), created(c), deleted(c), updated("pbc_1", "notes", {"a": 1}, {"a": 2})):
        tree = ast.parse(source)
        steps = {n.name for n in tree.body if isinstance(n, ast.AsyncFunctionDef)}
        assert steps == {"up", "down"}
        assert "'created'" not in source and "'updated'" not in source  # save times are not carried
