"""`reads_rows`: which conditions can be evaluated without a FROM clause."""

from __future__ import annotations

import pytest

from satchel.tools.sql import ir

P = ir.Param


@pytest.mark.parametrize(
    ("expr", "reads"),
    [
        (ir.Binary("IS NOT", P("a"), P("")), False),
        (ir.Binary("AND", ir.Binary("=", ir.Raw("1"), ir.Raw("1")), ir.Not(ir.Null())), False),
        (ir.Func("LOWER", (P("X"),)), False),
        (ir.InList(P(1), (P(1), P(2))), False),
        (ir.Case(((P(True), P(1)),), ir.Null()), False),
        (ir.Like(P("abc"), P("%b%")), False),
        (ir.col("posts", "title"), True),
        (ir.Binary("=", P(1), ir.col("id")), True),
        (ir.Func("LOWER", (ir.col("email"),)), True),
        (ir.Raw("rowid"), True),  # opaque SQL is assumed to read the row
        (ir.Exists(ir.Select((ir.Raw("1"),))), True),
        (ir.Case(((P(True), ir.col("n")),)), True),
    ],
)
def test_reads_rows(expr: ir.Expr, reads: bool) -> None:
    assert ir.reads_rows(expr) is reads
