"""Query depth and complexity limits, checked before anything runs.

Depth counts nested selections (fragments expanded). Complexity counts every selected field once
per record it may be resolved for: a list query's selection weighs `perPage` times (its literal or
variable value, else 30), a list-valued relation or back-relation `LIST_ESTIMATE` times.
Introspection (`__schema`, `__type`) is neither limited nor counted: tools need it whole.

Depth is a validation rule, run with the specified rules when a document is first seen. The
complexity depends on the variables, so it is checked on every request, straight on the cached
document (`complexity_errors`), without a validation pass; `ComplexityLimit` is the same check as a
validation rule for callers that validate documents themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
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

FragmentLookup = Callable[[str], FragmentDefinitionNode | None]


class Walker:
    """Walks an operation's selections with fragments inlined, knowing each field's type."""

    def __init__(
        self, schema: GraphQLSchema, fragment: FragmentLookup, limit: int, variables: dict[str, Any] | None = None
    ) -> None:
        self.schema = schema
        self.fragment = fragment
        self.limit = limit
        self.variables = variables or {}

    def root(self, node: OperationDefinitionNode) -> GraphQLObjectType | None:
        return self.schema.get_root_type(node.operation)

    def fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType | None, frozenset[str]]]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    yield selection, parent, seen
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                typ = self.schema.get_type(condition.name.value) if condition else parent
                yield from self.fields(selection.selection_set, typ, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragment(name)
                if fragment is None or name in seen:  # unknown or cyclic: other rules report it
                    continue
                typ = self.schema.get_type(fragment.type_condition.name.value)
                yield from self.fields(fragment.selection_set, typ, seen | {name})

    @staticmethod
    def field_type(parent: GraphQLNamedType | None, node: FieldNode) -> Any:
        if not isinstance(parent, GraphQLObjectType):
            return None
        definition = parent.fields.get(node.name.value)
        return None if definition is None else definition.type

    def depth(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, seen: frozenset[str]
    ) -> int:
        deepest = 0
        for field, owner, path in self.fields(selection_set, parent, seen):
            child = get_named_type(self.field_type(owner, field))
            deepest = max(deepest, 1 + self.depth(field.selection_set, child, path))
            if deepest > self.limit:  # deep enough to refuse: no need to walk the rest
                break
        return deepest

    def cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, seen: frozenset[str], level: int
    ) -> int:
        """At least the cost of the selection; the count stops once past the limit."""
        if level > DEFAULT_MAX_DEPTH * 4:  # the depth rule refuses such a query anyway
            return self.limit + 1
        total = 0
        for field, owner, path in self.fields(selection_set, parent, seen):
            field_type = self.field_type(owner, field)
            times = self._multiplier(field, field_type, owner)
            total += 1 + times * self.cost(field.selection_set, get_named_type(field_type), path, level + 1)
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


def depth_error(depth: int, limit: int, node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(
        f"The query is nested {depth} levels deep; at most {limit} are allowed.",
        node,
        extensions={"code": 400, "data": {}},
    )


def complexity_error(cost: int, limit: int, node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(
        f"The query's complexity is at least {cost}; at most {limit} is allowed."
        " Select fewer fields, a smaller perPage or fewer nested lists.",
        node,
        extensions={"code": 400, "data": {}},
    )


class _Limit(ValidationRule):
    limit = 0
    variables: dict[str, Any] = {}

    def walker(self) -> Walker:
        return Walker(self.context.schema, self.context.get_fragment, self.limit, self.variables)


class DepthLimit(_Limit):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        walker = self.walker()
        depth = walker.depth(node.selection_set, walker.root(node), frozenset())
        if depth > self.limit:
            self.report_error(depth_error(depth, self.limit, node))


class ComplexityLimit(_Limit):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        walker = self.walker()
        cost = walker.cost(node.selection_set, walker.root(node), frozenset(), 0)
        if cost > self.limit:
            self.report_error(complexity_error(cost, self.limit, node))


def depth_rule(max_depth: int) -> type[ValidationRule]:
    return type("DepthLimitRule", (DepthLimit,), {"limit": max_depth})


def complexity_rule(max_complexity: int, variables: dict[str, Any]) -> type[ValidationRule]:
    """`ComplexityLimit` bound to a limit and an operation's variable values."""
    return type("ComplexityLimitRule", (ComplexityLimit,), {"limit": max_complexity, "variables": variables})


def complexity_errors(
    schema: GraphQLSchema, document: DocumentNode, max_complexity: int, variables: dict[str, Any]
) -> list[GraphQLError]:
    """`ComplexityLimit`'s verdict on a document that passed validation, without a validation pass."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = Walker(schema, fragments.get, max_complexity, variables)
    errors = []
    for node in document.definitions:
        if isinstance(node, OperationDefinitionNode):
            cost = walker.cost(node.selection_set, walker.root(node), frozenset(), 0)
            if cost > max_complexity:
                errors.append(complexity_error(cost, max_complexity, node))
    return errors
