"""Query depth, root-field and complexity limits, checked before anything runs.

Depth counts nested selections (fragments expanded). Complexity is the work an operation may cost,
in units of one field resolved for one record:

- every selected field counts once per record it may be resolved for: a list query's `items`
  weigh `perPage` times (its literal or variable value, else 30), a list-valued relation or
  back-relation `LIST_ESTIMATE` times;
- every database query adds `QUERY_COST`: a root list or record field (each alias runs its own),
  and each relation or back-relation once per place it is selected, not per record, because
  relations are batched per page and level (`batching`);
- a list's totals (`totalItems`/`totalPages` selected, without `skipTotal: true`) add `COUNT_COST`:
  a `COUNT(*)` reads every matching row, which is why PocketBase has `skipTotal`. The list resolver
  skips the count when no total is selected (`selects_totals`), so a count is paid only when asked;
- every mutation adds `WRITE_COST` (validation, the write, its outbox row, the re-read).

The weights follow measurements on the shared development machine (SQLite, in process): a field
of a record costs 6 to 14 us to resolve, a list or relation query of a small page 0.1 to 0.2 ms
(about `QUERY_COST` fields), and a count 0.9 ms on 5000 matching rows, growing with the rows it
reads: `COUNT_COST` prices it for tables of some thousands of rows, because a guest can ask for
a count on any table it may list. So 600 aliased `postsList(perPage: 1) { totalItems }` (1.5 s on
a larger table) weigh 331200 and 100 of them 55200, both refused, while one page of 1000 records
with a dozen fields, a relation and its totals still passes.
`MAX_ROOT_FIELDS` bounds the aliases of one operation whatever their weight.
Introspection (`__schema`, `__type`) is neither limited nor counted: tools need it whole.

Depth and the root-field count are validation rules, run with the specified rules when a document
is first seen. The
complexity depends on the variables, so it is checked on every request, straight on the cached
document (`complexity_errors`), without a validation pass; `ComplexityLimit` is the same check as a
validation rule for callers that validate documents themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    BooleanValueNode,
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
    OperationType,
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
QUERY_COST = 50
COUNT_COST = 500
WRITE_COST = 500
MAX_ROOT_FIELDS = 50
TOTALS = frozenset({"totalItems", "totalPages"})

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
        per_record, queries = self._cost(selection_set, parent, seen, level, 1)
        return per_record + queries

    def _cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        seen: frozenset[str],
        level: int,
        page_size: int,
    ) -> tuple[int, int]:
        """(fields resolved per record of `parent`, database work done once for all of them);
        `page_size` is the perPage of the list whose page `parent` is."""
        if level > DEFAULT_MAX_DEPTH * 4:  # the depth rule refuses such a query anyway
            return self.limit + 1, 0
        per_record = queries = 0
        for field, owner, path in self.fields(selection_set, parent, seen):
            field_type = self.field_type(owner, field)
            times = self._multiplier(field_type, owner, page_size)
            child = get_named_type(field_type)
            size = self._per_page(field) if self._takes(owner, field, "perPage") else 1
            below, below_queries = self._cost(field.selection_set, child, path, level + 1, size)
            per_record += 1 + times * below
            queries += below_queries + self._queries(field, owner, child, path)
            if per_record + queries > self.limit:
                break
        return per_record, queries

    def _queries(
        self, node: FieldNode, owner: GraphQLNamedType | None, child: GraphQLNamedType | None, seen: frozenset[str]
    ) -> int:
        """The database work `node` causes, once whatever the number of records it is selected on."""
        if owner is self.schema.mutation_type:
            return WRITE_COST
        if owner is self.schema.subscription_type:
            return 0  # the record comes with the event
        if owner is self.schema.query_type:
            if not self._takes(owner, node, "perPage"):
                return QUERY_COST  # one record by id
            counted = not self._skips_total(node) and selects_totals(node.selection_set, self.fragment, seen)
            return QUERY_COST + (COUNT_COST if counted else 0)
        if _is_record(owner) and _is_record(child):
            return QUERY_COST  # a relation or back-relation: one query per page and level
        return 0

    @staticmethod
    def _takes(owner: GraphQLNamedType | None, node: FieldNode, arg: str) -> bool:
        definition = owner.fields.get(node.name.value) if isinstance(owner, GraphQLObjectType) else None
        return definition is not None and arg in definition.args

    def _skips_total(self, node: FieldNode) -> bool:
        for arg in node.arguments or ():
            if arg.name.value == "skipTotal":
                if isinstance(arg.value, BooleanValueNode):
                    return arg.value.value
                if isinstance(arg.value, VariableNode):
                    return self.variables.get(arg.value.name.value) is True
        return False

    @staticmethod
    def _multiplier(field_type: Any, owner: GraphQLNamedType | None, page_size: int) -> int:
        if isinstance(get_nullable_type(field_type), GraphQLList):
            in_page = isinstance(owner, GraphQLObjectType) and "perPage" in owner.fields
            return page_size if in_page else LIST_ESTIMATE  # a page's `items`: its perPage records
        return 1

    def _per_page(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value == "perPage":
                if isinstance(arg.value, IntValueNode):
                    return _clamp(int(arg.value.value))
                if isinstance(arg.value, VariableNode):
                    return _clamp(self.variables.get(arg.value.name.value))
        return DEFAULT_PER_PAGE


def _is_record(typ: GraphQLNamedType | None) -> bool:
    """Whether `typ` is a collection's record type (every one has `collectionId`; File, GeoPoint and
    the page and change types do not)."""
    return isinstance(typ, GraphQLObjectType) and "collectionId" in typ.fields


def selects_totals(selection_set: SelectionSetNode | None, fragment: FragmentLookup, seen: frozenset[str]) -> bool:
    """Whether a list field's selection asks for `totalItems` or `totalPages` (fragments included).

    The cost model charges a count exactly when this holds, and the list resolver skips the count
    when it does not: the two must agree.
    """
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in TOTALS:
                return True
        elif isinstance(selection, InlineFragmentNode):
            if selects_totals(selection.selection_set, fragment, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            found = fragment(name)
            if found is not None and name not in seen and selects_totals(found.selection_set, fragment, seen | {name}):
                return True
    return False


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
        " Select fewer root fields, lists or totals (`skipTotal: true` skips the count),"
        " fewer fields, a smaller perPage or fewer nested lists.",
        node,
        extensions={"code": 400, "data": {}},
    )


def root_fields_error(count: int, limit: int, node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(
        f"The operation selects {count} root fields (aliases included); at most {limit} are allowed."
        " Split it into several requests.",
        node,
        extensions={"code": 400, "data": {}},
    )


def root_fields(schema: GraphQLSchema, document: DocumentNode, node: OperationDefinitionNode) -> int:
    """How many root fields `node` selects (fragments expanded, aliases each one)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = Walker(schema, fragments.get, 0)
    return sum(1 for _ in walker.fields(node.selection_set, walker.root(node), frozenset()))


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


class RootFieldsLimit(_Limit):
    """Each root field of a query or mutation runs on its own (a query, a count, a write): an
    operation of many aliases multiplies the work of one request, whatever each weighs."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is OperationType.SUBSCRIPTION:
            return  # a subscription has exactly one root field (a specified rule)
        walker = self.walker()
        count = sum(1 for _ in walker.fields(node.selection_set, walker.root(node), frozenset()))
        if count > self.limit:
            self.report_error(root_fields_error(count, self.limit, node))


class ComplexityLimit(_Limit):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        walker = self.walker()
        cost = walker.cost(node.selection_set, walker.root(node), frozenset(), 0)
        if cost > self.limit:
            self.report_error(complexity_error(cost, self.limit, node))


def depth_rule(max_depth: int) -> type[ValidationRule]:
    return type("DepthLimitRule", (DepthLimit,), {"limit": max_depth})


def root_fields_rule(max_root_fields: int) -> type[ValidationRule]:
    return type("RootFieldsLimitRule", (RootFieldsLimit,), {"limit": max_root_fields})


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
