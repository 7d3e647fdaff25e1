"""The one rule for text taken from outside: which characters a value may hold, and how long it
may be. Names and identifiers (`Line`) hold no control character at all; free text (`Prose`)
may keep tab and line breaks. NUL never passes: PostgreSQL cannot store it, and a name with a
control character in it cannot be shown, logged or typed back safely.

Both are pydantic annotations, so every model and every API parameter that uses them checks the
same way, and the length bound stays a string constraint (with pydantic's usual message)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

# C0 and C1 controls and DEL (Unicode category Cc), and the Unicode line and paragraph
# separators, which break a "single line" as surely as a newline does.
_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Tab, line feed and carriage return are how people write text (CRLF from Windows editors and
# CSV files made there); every other control character is refused.
_PROSE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is refused (naming the first bad character and where it is), or None."""
    found = (_PROSE_FORBIDDEN if multiline else _LINE_FORBIDDEN).search(value)
    if found is None:
        return None
    allowed = " other than tab and line breaks" if multiline else ""
    return (
        f"must not contain control characters{allowed}: "
        f"U+{ord(found.group()):04X} at position {found.start()}"
    )


@dataclass(frozen=True)
class _TextRule:
    max_length: int
    min_length: int = 0
    multiline: ClassVar[bool] = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        if inner.get("type") == "str":
            # Set on the string schema itself (not as a check after ours), so that a too long
            # value gets pydantic's own "at most N characters".
            inner = {**inner, "max_length": self.max_length}
            if self.min_length:
                inner["min_length"] = self.min_length
        return core_schema.no_info_after_validator_function(self._check, inner)

    def _check(self, value: Any) -> Any:
        if isinstance(value, str):
            problem = control_character_problem(value, multiline=self.multiline)
            if problem is not None:
                raise ValueError(problem)
        return value


@dataclass(frozen=True)
class Line(_TextRule):
    """`Annotated[str, Line(64)]`: one line of at most 64 characters, no control character."""


@dataclass(frozen=True)
class Prose(_TextRule):
    """`Annotated[str, Prose(4000)]`: free text of at most 4000 characters; tab, line feed and
    carriage return allowed, no other control character."""

    multiline: ClassVar[bool] = True
