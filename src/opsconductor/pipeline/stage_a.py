"""Stage A: check that a request is text a person could have meant, then understand it."""

from __future__ import annotations

import re
import unicodedata

from opsconductor.brain.base import Brain
from opsconductor.brain.index import InventoryIndex
from opsconductor.schemas.decision import DecisionV1

# Shell syntax has no place in a request: OpsConductor runs catalog commands only, so these
# are refused with a clear word rather than quietly dropped.
_SHELL_SYNTAX = re.compile(r"(;|`|\$\(|\$\{|&&|\|\||\s\|\s|>\s*/|<\s*/)")


def check_request(text: object, max_chars: int) -> str | None:
    """Why a request cannot be read, or None when it can."""
    if not isinstance(text, str):
        return "The request must be text."
    if not text.strip():
        return "The request is empty: ask a question such as 'how many assets do we have?'."
    if len(text) > max_chars:
        return f"The request is {len(text):,} characters long; the limit is {max_chars:,}."
    if "\x00" in text or "\ufffd" in text:
        return "The request contains binary data; send plain text."
    control = [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t\r"]
    if control:
        return f"The request contains control characters ({len(control)}); send plain text."
    shell = _SHELL_SYNTAX.search(text)
    if shell:
        return (
            f"The request contains shell syntax ({shell.group().strip()!r}). OpsConductor runs "
            "only commands from its catalog; say what you want done in words."
        )
    return None


def understand(brain: Brain, request_id: str, text: str, index: InventoryIndex) -> DecisionV1:
    """Text in, decision out; the text has passed :func:`check_request`."""
    return brain.understand(request_id, " ".join(text.split()), index)
