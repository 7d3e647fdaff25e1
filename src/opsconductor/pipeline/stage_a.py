"""Stage A: check that a request is text a person could have meant, then understand it."""

from __future__ import annotations

import re
import unicodedata

from opsconductor.brain.base import Brain, BrainRequest, Context
from opsconductor.brain.index import InventoryIndex
from opsconductor.schemas.decision import DecisionV1

# Shell syntax has no place in a request: OpsConductor runs catalog commands only, so these
# are refused with a clear word rather than quietly dropped.
_SHELL_SYNTAX = re.compile(r"(`|\$\(|\$\{|&&|\|\||\s\|\s|>\s*/|<\s*/)")
# A semicolon is prose ("restart apache; otherwise, show me top processes") unless what
# follows it, up to the next sentence mark, looks like a command line: no space around it
# ("df;ls"), a command word people only type in a shell, a flag, a path or a variable.
# A quotation mark that is not an apostrophe inside a word ("web-01's").
_QUOTE = re.compile(r"\"|(?<!\w)'|'(?!\w)")
_SEMICOLON = re.compile(r";(?P<after>[^;.!?]*)")
_SHELL_AFTER = re.compile(
    r"^\S|^\s*(rm|cat|ls|echo|curl|wget|sudo|su|chmod|chown|bash|sh|zsh|nc|ncat|dd|mkfs|mv|cp|"
    r"tee|touch|eval|exec|export|whoami|uname|id|python3?|perl|base64)\b|\s--?[a-z]|\s/|[$=]",
    re.IGNORECASE,
)
# Text addressed to the assistant's own rules rather than to the fleet. It is refused here,
# before any brain reads it, so the refusal holds whichever brain (rules or a model) is used.
_ADDRESSED_TO_RULES = re.compile(
    r"\b("
    r"(ignore|disregard|forget|override|bypass|skip)\s+(all\s+|any\s+|the\s+|your\s+|my\s+)?"
    r"(previous\s+|prior\s+|earlier\s+|above\s+|safety\s+|approval\s+|system\s+)*"
    r"(instructions?|rules?|prompts?|guardrails?|approvals?|polic(y|ies)|checks?|restrictions?)"
    r"|approval\s+level\s*(=|:|to|is|of)?\s*[0-3]\b"
    r"|set\s+(the\s+)?(risk|approval)(\s+level)?\s+to"
    r"|(risk|risk\s+level)\s*(=|:)\s*(low|none|0)"
    r"|you\s+are\s+now\b|from\s+now\s+on\s+you\b|act\s+as\s+(an?\s+)?(admin|root|unrestricted)"
    r"|pretend\s+(that\s+)?(you|i)\b|system\s+prompt|developer\s+mode|jailbreak"
    r"|without\s+(any\s+)?(approval|confirmation|review)|no\s+approval\s+(needed|required)"
    r"|(already|pre-?)\s*approved|i\s+am\s+(an?\s+)?(admin|approver)\b"
    r")",
    re.IGNORECASE,
)


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
    rules = _ADDRESSED_TO_RULES.search(text)
    if rules:
        return (
            f"The request speaks to my rules ({rules.group().strip()!r}), and those are not "
            "changed by a request: the catalog, the inventory and the approval policy decide "
            "what runs and who approves it. Ask for the task alone, in words."
        )
    shell = _shell_syntax(text)
    if shell:
        return (
            f"The request contains shell syntax ({shell!r}). OpsConductor runs "
            "only commands from its catalog; say what you want done in words."
        )
    return None


def _shell_syntax(text: str) -> str | None:
    """The first piece of shell syntax in the text, as written."""
    found = _SHELL_SYNTAX.search(text)
    if found:
        return found.group().strip()
    for semicolon in _SEMICOLON.finditer(text):
        after = semicolon.group("after")
        before = text[: semicolon.start()]
        # Inside quotes ("restart 'nginx; reboot'") it is a command line, never prose.
        quoted = len(_QUOTE.findall(before)) % 2 == 1
        if quoted or not after.strip() or _SHELL_AFTER.search(after):
            return ";"
    return None


async def understand(
    brain: Brain,
    request_id: str,
    text: str,
    index: InventoryIndex,
    context: Context | None = None,
) -> DecisionV1:
    """Text in, decision out; the text has passed :func:`check_request`."""
    folded = " ".join(text.split())
    return await brain.understand(BrainRequest(request_id, folded, index, context or Context()))
