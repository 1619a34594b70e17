"""Filters on encrypted fields: equality through the blind index, everything else refused.

The database only holds ciphertexts and a keyed HMAC of each value (`<field>__bidx`), so the one
question it can answer is "is this value equal to that one": `field = "x"` compiles to a
comparison of the index column with the HMAC of "x" under every key of the ring (rows not yet
re-encrypted by a rotation still match). `!=`, `?=` and `?!=` follow. Any other operator, a
modifier, a JSON path into the value, a comparison with another column, or a sort would need the
plaintext in SQL: each is a 400 naming the field, never a silently wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field
from satchel.core.records.sealed_fields import index_context, index_text, shadow
from satchel.core.rules.resolver_errors import FilterError
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.rules.resolver import MultiMatch, Operand

EQUALITY = ("=", "!=")


class SealedFilterError(FilterError):
    """A filter or sort an encrypted field cannot answer; clients see why (a 400)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.message = (
            f'The field "{name}" is encrypted: {why} Encrypted fields can only be compared with =, != '
            '(or ?=, ?!=) to a value, e.g. field = "x".'
        )
        self.args = (self.message,)


@dataclass(frozen=True, slots=True)
class SealedRef:
    """The encrypted field an operand stands for (its expression is the blind index column)."""

    collection: Collection
    field: Field

    @property
    def name(self) -> str:
        return self.field.name


def is_sealed(f: Field) -> bool:
    return bool(getattr(f, "encrypted", False))


def index_columns(alias: str, mm_alias: str, f: Field) -> tuple[ir.Expr, ir.Expr]:
    """The blind index column of `f` in the main path's alias and in its multi-match copy."""
    return ir.col(alias, shadow(f.name)), ir.col(mm_alias, shadow(f.name))


def _constant(name: str, other: Operand) -> Any:
    if other.kind == "null":
        return None
    if other.kind == "bool":
        return isinstance(other.expr, ir.Raw) and other.expr.sql in ("1", "TRUE", "true")
    if isinstance(other.expr, ir.Param) and other.mm is None:
        return other.expr.value
    raise SealedFilterError(name, "it can only be compared with a value, not with another field or an expression.")


def _matches(column: ir.Expr, digests: tuple[str, ...], negate: bool) -> ir.Expr:
    value = ir.Func("COALESCE", (column, ir.Param("")))
    return ir.InList(value, tuple(ir.Param(d) for d in digests), negate=negate)


def comparison(
    left: Operand,
    op: str,
    right: Operand,
    every_item: Callable[[MultiMatch, Callable[[ir.Expr], ir.Expr]], ir.Expr],
) -> ir.Expr:
    """`left op right` where one side is an encrypted field; `every_item(mm, test)` builds the
    "no related item fails" guard of a multi-valued path (PocketBase's rule for plain operators)."""
    sealed, other = (left, right) if left.sealed is not None else (right, left)
    ref = sealed.sealed
    assert ref is not None
    if other.sealed is not None:
        raise SealedFilterError(ref.name, "two encrypted fields cannot be compared with each other.")
    base = op.lstrip("?")
    if base not in EQUALITY:
        raise SealedFilterError(ref.name, f"the operator {op} would need the plaintext in the database.")
    keys = ref.collection.keys
    if keys is None or keys.current is None:
        raise SealedFilterError(ref.name, "no encryption key is configured.")
    digests = keys.blind_indexes(index_text(_constant(ref.name, other)), index_context(ref.collection, ref.field))
    negate = base == "!="

    def test(column: ir.Expr) -> ir.Expr:
        return _matches(column, digests, negate)

    expr = test(sealed.expr)
    if sealed.mm is not None and not op.startswith("?"):
        expr = ir.Binary("AND", expr, every_item(sealed.mm, test))
    if sealed.after is not None:
        expr = sealed.after(expr)
    return expr
