"""The password of auth records: only its hash is stored; the plaintext is checked on input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import OptionsContext, ValueContext
from satchel.core.fields.number import check_range
from satchel.core.fields.options import Option
from satchel.core.fields.text import StoredText, go_match, regex_error

MAX_PASSWORD = 71  # PocketBase's default and ceiling (bcrypt reads at most 72 bytes)
MAX_PASSWORD_BYTES = 72
MIN_COST, MAX_COST = 4, 31  # bcrypt's cost bounds


@dataclass(slots=True, kw_only=True)
class PasswordField(StoredText):
    type: ClassVar[str] = "password"
    options: ClassVar[tuple[Option, ...]] = (
        ("cost", "cost", "int"),
        ("max", "max", "int"),
        ("min", "min", "int"),
        ("pattern", "pattern", "str"),
    )
    min: int = 0
    max: int = 0
    pattern: str = ""
    cost: int = 0

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        for key, problem in (
            ("min", check_range(self.min, 1, MAX_PASSWORD)),
            ("max", check_range(self.max, self.min, MAX_PASSWORD)),
            ("cost", check_range(self.cost, MIN_COST, MAX_COST)),
            ("pattern", regex_error(self.pattern)),
        ):
            if problem is not None:
                errors[key] = problem
        return errors

    def validate_plain(self, plain: str) -> FieldError | None:
        """Checks on a new plaintext; PocketBase's messages here carry no params."""
        if plain == "":
            return None
        if len(plain.encode()) > MAX_PASSWORD_BYTES:
            return FieldError("validation_invalid_value", "Invalid value.")  # bcrypt refuses to hash it
        length = len(plain)
        if length < self.min:
            return FieldError("validation_min_text_constraint", f"Must be at least {self.min} character(s).")
        limit = self.max if self.max > 0 else MAX_PASSWORD
        if length > limit:
            return FieldError("validation_max_text_constraint", f"Must be less than {limit} character(s).")
        if self.pattern and not go_match(self.pattern, plain):
            return FieldError("validation_invalid_format", "Invalid value format.")
        return None

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        if self.required and not value:
            return required()
        return None
