"""Plain text, including the `id` primary key field.

Also home of the Go-compatible string helpers other field types reuse: `cast.ToString` and
patterns checked the way Go's RE2 `regexp` compiles and matches them (clients see its error text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.number import MAX_SAFE_INT, check_range
from satchel.core.fields.options import ENCRYPTED, Option
from satchel.tools.ids import DEFAULT_RECORD_ID_PATTERN, FORBIDDEN_PK_CHARACTERS, RESERVED_PKS, random_string_by_regex
from satchel.tools.sql import ir

DEFAULT_MAX_TEXT = 5000


def cast_string(raw: Any) -> str:
    """PocketBase's `cast.ToString` of a decoded JSON value; lists and objects become ""."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int) and abs(raw) <= MAX_SAFE_INT:
        return str(raw)
    if isinstance(raw, int | float):
        try:
            text = format(Decimal(repr(float(raw))), "f")
        except (ValueError, ArithmeticError):
            return "NaN" if raw != raw else ("+Inf" if raw > 0 else "-Inf")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return ""


# Constructs Python's `re` accepts but Go's RE2 rejects (lookarounds, backreferences, conditionals).
_PERL_ONLY = re.compile(r"\(\?(?:<=|<!|=|!|\(|P=|>|#)")
_BACKREF = re.compile(r"(?<!\\)(?:\\\\)*(\\[1-9])")
_REPEAT = re.compile(r"\{\d+(?:,\d*)?\}")


def _go_message(pattern: str, exc: re.error) -> str:
    msg, pos = exc.msg, exc.pos or 0
    if msg.startswith("missing ), unterminated subpattern"):
        return f"missing closing ): `{pattern}`"
    if msg.startswith("unterminated character set"):
        return f"missing closing ]: `{pattern[pos:]}`"
    if msg.startswith("unbalanced parenthesis"):
        return f"unexpected ): `{pattern}`"
    if msg.startswith("nothing to repeat"):
        return f"missing argument to repetition operator: `{pattern[pos : pos + 1]}`"
    if msg.startswith("multiple repeat"):
        return f"invalid nested repetition operator: `{pattern[max(pos - 1, 0) : pos + 1]}`"
    if msg == "bad escape (end of pattern)":
        return "trailing backslash at end of expression: ``"
    if msg.startswith("bad escape"):
        return f"invalid escape sequence: `{msg.removeprefix('bad escape ')}`"
    if msg.startswith("bad character range"):
        return f"invalid character class range: `{msg.removeprefix('bad character range ')}`"
    if msg.startswith("min repeat greater than max repeat"):
        found = _REPEAT.search(pattern, max(pattern.rfind("{", 0, pos + 1), 0))
        return f"invalid repeat count: `{found.group(0) if found else pattern}`"
    return f"invalid or unsupported Perl syntax: `{pattern}`"


def _translate(pattern: str) -> str:
    """Go's `\\z` is Python's `\\Z`; Go's `$` (without the m flag) only matches at the very end."""
    out: list[str] = []
    i, in_class = 0, False
    multiline = "(?m" in pattern or re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append("\\Z" if nxt == "z" and not in_class else ch + nxt)
            i += 2
            continue
        if in_class:
            in_class = ch != "]" or out[-1] in ("[", "[^")
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                continue
        elif ch == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_go_regex(pattern: str) -> re.Pattern[str] | str:
    """The compiled pattern, or Go's error text (without the "error parsing regexp: " prefix)."""
    perl = _PERL_ONLY.search(pattern)
    if perl:
        return f"invalid or unsupported Perl syntax: `{perl.group(0)}`"
    backref = _BACKREF.search(pattern)
    if backref:
        return f"invalid escape sequence: `{backref.group(1)}`"
    try:
        return re.compile(_translate(pattern), re.ASCII)
    except re.error as exc:
        return _go_message(pattern, exc)


def regex_error(pattern: str) -> FieldError | None:
    """PocketBase's `validators.IsRegex` for an option holding a pattern."""
    if not pattern:
        return None
    compiled = compile_go_regex(pattern)
    if isinstance(compiled, str):
        return FieldError("validation_invalid_regex", f"Error parsing regexp: {compiled}.")
    return None


def go_match(pattern: str, text: str) -> bool:
    """Go's `regexp.MatchString`: an unanchored search; an invalid pattern never matches."""
    compiled = compile_go_regex(pattern)
    return not isinstance(compiled, str) and compiled.search(text) is not None


def _invalid_format() -> FieldError:
    return FieldError("validation_invalid_format", "Invalid value format.")


@dataclass(slots=True, kw_only=True)
class StoredText(Field):
    """Storage shared by the text-valued types: a `TEXT ''` column and PocketBase's string casting."""

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return ""

    def from_db(self, raw: Any) -> Any:
        return raw if isinstance(raw, str) else cast_string(raw)

    def coerce(self, raw: Any) -> Any:
        return cast_string(raw)


@dataclass(slots=True, kw_only=True)
class TextField(StoredText):
    type: ClassVar[str] = "text"
    options: ClassVar[tuple[Option, ...]] = (
        ("min", "min", "int"),
        ("max", "max", "int"),
        ("pattern", "pattern", "str"),
        ("autogeneratePattern", "autogenerate_pattern", "str"),
        ("primaryKey", "primary_key", "bool"),
        ENCRYPTED,
    )
    min: int = 0
    max: int = 0
    pattern: str = ""
    autogenerate_pattern: str = ""
    primary_key: bool = False
    encrypted: bool = False

    def column(self) -> ir.ColumnDef:
        if self.primary_key:
            return ir.ColumnDef(self.name, "TEXT", primary_key=True)
        return StoredText.column(self)

    def before_save(self, value: Any, ctx: ValueContext) -> Any:
        if value == "" and self.autogenerate_pattern and ctx.is_new:
            try:
                return random_string_by_regex(self.autogenerate_pattern)
            except ValueError:
                return value
        return value

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        if self.primary_key and self.name != "id":
            errors["name"] = FieldError("validation_in_invalid", 'The primary key must be named "id".')
        pks = sum(1 for f in ctx.collection.fields if isinstance(f, TextField) and f.primary_key)
        if self.primary_key and pks > 1:
            errors["primaryKey"] = FieldError(
                "validation_unsupported_composite_pk",
                "Composite PKs are not supported and the collection must have only 1 PK.",
            )
        for key, problem in (
            ("min", check_range(self.min, 0, MAX_SAFE_INT)),
            ("max", check_range(self.max, self.min, MAX_SAFE_INT)),
            ("pattern", required() if self.primary_key and not self.pattern else regex_error(self.pattern)),
            ("hidden", FieldError("validation_empty", "Must be blank.") if self.primary_key and self.hidden else None),
            ("required", required() if self.primary_key and not self.required else None),
            ("autogeneratePattern", regex_error(self.autogenerate_pattern) or self._check_autogenerate()),
            ("encrypted", _encrypted_problem(self)),
        ):
            if problem is not None:
                errors[key] = problem
        return errors

    def _check_autogenerate(self) -> FieldError | None:
        if not self.autogenerate_pattern:
            return None
        for _ in range(10):
            try:
                generated = random_string_by_regex(self.autogenerate_pattern)
            except ValueError as exc:
                return FieldError("validation_invalid_autogenerate_pattern", _sentence(str(exc)))
            if self.validate_plain(generated) is not None:
                return FieldError(
                    "validation_invalid_autogenerate_pattern_value",
                    "The provided autogenerate pattern could produce invalid field values, "
                    f"ex.: {json.dumps(generated)}.",
                )
        return None

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        text = value if isinstance(value, str) else cast_string(value)
        if self.primary_key:
            if not ctx.is_new and ctx.original is not None:
                old = ctx.original.get(self.name, "")
                if old != text:
                    return FieldError("validation_pk_change", "The record primary key cannot be changed.")
                if old:
                    return None  # stored ids are trusted, even ones imported under other rules
            elif (
                text and self.pattern != DEFAULT_RECORD_ID_PATTERN and await ctx.existing_ids(ctx.collection.id, [text])
            ):
                return FieldError("validation_pk_invalid", "The record primary key is invalid or already exists.")
        return self.validate_plain(text)

    def validate_plain(self, text: str) -> FieldError | None:
        """The option checks on a plain string (also applied to autogenerated samples)."""
        if text == "":
            return required() if self.required or self.primary_key else None
        length = len(text)
        if self.min > 0 and length < self.min:
            return FieldError(
                "validation_min_text_constraint", f"Must be at least {self.min} character(s).", {"min": self.min}
            )
        limit = self.max or DEFAULT_MAX_TEXT
        if limit > 0 and length > limit:
            return FieldError(
                "validation_max_text_constraint", f"Must be no more than {limit} character(s).", {"max": limit}
            )
        if self.pattern and not go_match(self.pattern, text):
            return _invalid_format()
        if self.primary_key and self.pattern != DEFAULT_RECORD_ID_PATTERN:
            return _pk_problem(text)
        return None


def _encrypted_problem(f: TextField) -> FieldError | None:
    if f.encrypted and (f.primary_key or f.system):
        return FieldError("validation_encrypted_unsupported", "System and primary key fields cannot be encrypted.")
    return None


def _pk_problem(text: str) -> FieldError | None:
    for ch in FORBIDDEN_PK_CHARACTERS:
        if ch in text:
            return FieldError(
                "validation_forbidden_pk_character", f"'{ch}' is not a valid primary key character.", {"ch": ch}
            )
    if len(text) <= 4 and text.upper() in RESERVED_PKS:
        reserved = text.upper()
        return FieldError(
            "validation_reserved_pk",
            f"The primary key '{reserved}' is reserved and cannot be used.",
            {"reserved": reserved},
        )
    return None


def _sentence(text: str) -> str:
    """PocketBase's `inflector.Sentenize`: capitalised, ending with a period."""
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
