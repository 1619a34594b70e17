"""The contract every field type fulfils.

A field owns everything type-specific about one record property: its options and their JSON,
how an input value is coerced and modified (`+`/`-`), how it is validated, how it is stored in
a column, and how the stored value comes back. Records, collections and the rule resolver
talk to fields only through this class, so adding a type means adding one module and one
registry entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError
from satchel.core.fields.options import COMMON, REQUIRED_HELP, Option, dump_options, load_options
from satchel.tools.datetime import now_str
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.collections.model import Collection


# Name rules shared with collection validation (PocketBase: letters, digits, underscore; not a number).
FIELD_NAME_PATTERN = r"^\w+$"


@dataclass(slots=True)
class OptionsContext:
    """What field option validation may look at: the collection being saved and its siblings."""

    collection: Collection
    old: Collection | None
    find_collection: Callable[[str], Collection | None]
    """Looks a collection up by id or name among the saved ones (relation targets)."""


@dataclass(slots=True)
class ValueContext:
    """What value validation may look at while a record is saved."""

    collection: Collection
    data: Mapping[str, Any]
    """All current (already coerced) values of the record, by field name."""
    original: Mapping[str, Any] | None
    """The stored values before this change; None on create."""
    existing_ids: Callable[[str, list[str]], Awaitable[set[str]]]
    """`await existing_ids(collection_id, ids)` returns which of `ids` exist in that collection."""
    now: str = dataclass_field(default_factory=now_str)
    """One timestamp per save, so `created` and `updated` of a new record are equal."""

    @property
    def is_new(self) -> bool:
        return self.original is None


@dataclass(slots=True, kw_only=True)
class Field:
    """Base of all field types. Subclasses add their options as dataclass fields."""

    type: ClassVar[str] = ""
    # keys each subclass emits in to_json, in addition to the common ones (kept for the docs/tests)
    has_required: ClassVar[bool] = True

    id: str = ""
    name: str = ""
    system: bool = False
    hidden: bool = False
    presentable: bool = False
    required: bool = False
    help: str = ""

    options: ClassVar[tuple[Option, ...]] = ()
    """Type-specific options as (wire key, attribute, kind), in addition to the common keys."""

    # ---------------------------------------------------------------- options JSON
    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Field:
        """Build from PocketBase's field JSON; unknown keys are ignored, missing ones defaulted.

        Raises `FieldOptionsError` with per-key codes when a key has the wrong JSON type.
        """
        field = cls()
        errors = load_options(field, data, cls._all_options())
        if errors:
            raise FieldOptionsError(errors)
        return field

    @classmethod
    def _all_options(cls) -> tuple[Option, ...]:
        extra = REQUIRED_HELP if cls.has_required else ()
        return COMMON + extra + cls.options

    def to_json(self) -> dict[str, Any]:
        """PocketBase's field JSON with every option key present (keys sorted as PocketBase emits them)."""
        out = dump_options(self, self._all_options())
        out["type"] = self.type
        return dict(sorted(out.items()))

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        """Check option values (min <= max, known collection ids, ...); {} when valid."""
        return {}

    def max_body_size(self) -> int:
        """Bytes this field may add to a write request beyond the default body limit (PocketBase's
        `CalculateMaxBodySize`): big values (files, long documents) must not be cut off by it."""
        return 0

    # ------------------------------------------------------------------- storage
    def column(self) -> ir.ColumnDef:
        """The SQL column definition holding this field's value."""
        raise NotImplementedError

    def from_db(self, raw: Any) -> Any:
        """A stored column value back to the record value (the value clients see in JSON)."""
        return raw

    def to_db(self, value: Any) -> Any:
        """A record value to the stored column value (JSON text for lists/objects)."""
        return value

    def zero(self) -> Any:
        """The value of a fresh record that did not set this field."""
        raise NotImplementedError

    # --------------------------------------------------------------------- input
    def coerce(self, raw: Any) -> Any:
        """Coerce a client value (JSON value or multipart string) into the field's value type.

        Never raises: a value that cannot be coerced becomes the zero value or is kept as-is
        for `validate` to reject, mirroring PocketBase's lenient casting.
        """
        raise NotImplementedError

    def modify(self, current: Any, modifier: str, operand: Any) -> Any:
        """Apply a `field+` (append/add), `+field` (prepend) or `field-` (remove/subtract) modifier.

        `modifier` is one of "append", "prepend", "remove". Types without modifiers return
        `current` unchanged.
        """
        return current

    @property
    def is_multiple(self) -> bool:
        """True when the value is a list (select/relation/file with maxSelect > 1)."""
        return False

    # ---------------------------------------------------------------- validation
    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        """Validate the coerced value; None when valid."""
        raise NotImplementedError

    # ------------------------------------------------------------ lifecycle hooks
    def before_save(self, value: Any, ctx: ValueContext) -> Any:
        """Last chance to fill a value before validation (autodate stamps, autogenerated text)."""
        return value


class FieldOptionsError(Exception):
    """Raised by `from_json` for option values of the wrong JSON type."""

    def __init__(self, errors: ErrorTree) -> None:
        super().__init__("invalid field options")
        self.errors = errors
