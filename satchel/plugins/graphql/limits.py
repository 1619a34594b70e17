"""Query depth and complexity limits, as validation rules (a refused query never executes).

Depth counts nested selections (fragments expanded). Complexity counts every selected field once
per record it may be resolved for: a list query's selection weighs `perPage` times (its literal or
variable value, else 30), a list-valued relation or back-relation `LIST_ESTIMATE` times.
Introspection (`__schema`, `__type`) is neither limited nor counted: tools need it whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

DEFAULT_MAX_DEPTH = 10
DEFAULT_MAX_COMPLEXITY = 20_000
LIST_ESTIMATE = 10
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000


class _Limit(ValidationRule):
    limit = 0
    variables: dict[str, Any] = {}

    def _fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType | None, frozenset[str]]]:
        """The fields selected in `selection_set` with fragments inlined, each with its own type."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                yield selection, parent, seen
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                typ = self.context.schema.get_type(condition.name.value) if condition else parent
                yield from self._fields(selection.selection_set, typ, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in seen:  # unknown or cyclic: other rules report it
                    continue
                typ = self.context.schema.get_type(fragment.type_condition.name.value)
                yield from self._fields(fragment.selection_set, typ, seen | {name})

    @staticmethod
    def _field_type(parent: GraphQLNamedType | None, node: FieldNode) -> Any:
        if not isinstance(parent, GraphQLObjectType):
            return None
        definition = parent.fields.get(node.name.value)
        return None if definition is None else definition.type

    def _root(self, node: OperationDefinitionNode) -> GraphQLObjectType | None:
        return self.context.schema.get_root_type(node.operation)


class DepthLimit(_Limit):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        depth = self._depth(node.selection_set, self._root(node), frozenset())
        if depth > self.limit:
            self.report_error(
                GraphQLError(
                    f"The query is nested {depth} levels deep; at most {self.limit} are allowed.",
                    node,
                    extensions={"code": 400, "data": {}},
                )
            )

    def _depth(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, seen: frozenset[str]
    ) -> int:
        deepest = 0
        for field, owner, path in self._fields(selection_set, parent, seen):
            child = get_named_type(self._field_type(owner, field))
            deepest = max(deepest, 1 + self._depth(field.selection_set, child, path))
            if deepest > self.limit:  # deep enough to refuse: no need to walk the rest
                break
        return deepest


class ComplexityLimit(_Limit):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = self._cost(node.selection_set, self._root(node), frozenset(), 0)
        if cost > self.limit:
            self.report_error(
                GraphQLError(
                    f"The query's complexity is at least {cost}; at most {self.limit} is allowed."
                    " Select fewer fields, a smaller perPage or fewer nested lists.",
                    node,
                    extensions={"code": 400, "data": {}},
                )
            )

    def _cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, seen: frozenset[str], depth: int
    ) -> int:
        if depth > DEFAULT_MAX_DEPTH * 4:  # the depth rule refuses such a query anyway
            return self.limit + 1
        total = 0
        for field, owner, path in self._fields(selection_set, parent, seen):
            field_type = self._field_type(owner, field)
            child = get_named_type(field_type)
            times = self._multiplier(field, field_type, owner)
            total += 1 + times * self._cost(field.selection_set, child, path, depth + 1)
            if total > self.limit:
                break
        return total

    def _multiplier(self, node: FieldNode, field_type: Any, owner: GraphQLNamedType | None) -> int:
        definition = owner.fields.get(node.name.value) if isinstance(owner, GraphQLObjectType) else None
        if definition is not None and "perPage" in definition.args:
            return self._per_page(node)
        if isinstance(get_nullable_type(field_type), GraphQLList):
            # a page's `items` are already counted by the page's perPage
            in_page = isinstance(owner, GraphQLObjectType) and "perPage" in owner.fields
            return 1 if in_page else LIST_ESTIMATE
        return 1

    def _per_page(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value == "perPage":
                if isinstance(arg.value, IntValueNode):
                    return _clamp(int(arg.value.value))
                if isinstance(arg.value, VariableNode):
                    return _clamp(self.variables.get(arg.value.name.value))
        return DEFAULT_PER_PAGE


def _clamp(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return DEFAULT_PER_PAGE
    return min(value, MAX_PER_PAGE)


def rules(max_depth: int, max_complexity: int, variables: dict[str, Any]) -> list[type[ValidationRule]]:
    """The two rules bound to this operation's limits and variable values."""
    depth = type("DepthLimitRule", (DepthLimit,), {"limit": max_depth})
    complexity = type("ComplexityLimitRule", (ComplexityLimit,), {"limit": max_complexity, "variables": variables})
    return [depth, complexity]
