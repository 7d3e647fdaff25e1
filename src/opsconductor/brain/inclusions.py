"""'a health check on web-01 including CPU, memory and network': what a request says a check
must cover. Each item is something the chosen tool (or a workflow's steps) looks at, or it is
named back: a health check that silently left the network out would answer a question that
was not asked, and say it was healthy."""

from __future__ import annotations

from collections.abc import Iterable

from opsconductor.brain import lexicon
from opsconductor.brain.intents import concept, example_words
from opsconductor.brain.tokens import Token, TokenKind, mark
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.kinds.workflow import WorkflowTool
from opsconductor.schemas.decision import Clarification

INCLUSION_CUES = frozenset({"including", "incl", "include", "includes", "covering"})
_LIST_GLUE = frozenset({"and", "the", "its", "their", "plus", "also", "as", "well"})
_MOST_ITEMS = 8  # past this many the words are a sentence, not a list


def take_inclusions(tokens: list[Token]) -> list[Token]:
    """The words listed after 'including', marked consumed: they say what the check covers,
    not which check it is, so they must not pull the request towards one of their own. The
    cue and glue words are consumed too; `release` gives all of them back."""
    taken: list[Token] = []
    for position, token in enumerate(tokens):
        if not (token.free and token.norm in INCLUSION_CUES):
            continue
        taken.append(token)
        items = 0
        for following in tokens[position + 1 : position + 1 + 2 * _MOST_ITEMS]:
            glue = following.free and following.norm in _LIST_GLUE
            listed = following.free or following.kind is TokenKind.SERVICE  # 'including nginx'
            if not glue and (
                not listed
                or following.norm in lexicon.STOP_WORDS
                or following.norm in lexicon.QUALIFIER_CUES
                or items == _MOST_ITEMS
            ):
                break
            taken.append(following)
            items += not glue
    for token in taken:
        if token.free:  # a service keeps its kind: a step that takes a service covers it
            mark(token, TokenKind.CONSUMED)
    return taken


def release(taken: list[Token]) -> None:
    """The words `take_inclusions` consumed, free again: the request is read with them."""
    for token in taken:
        if token.kind is TokenKind.CONSUMED:
            mark(token, TokenKind.WORD, "")


def _items(taken: Iterable[Token]) -> list[Token]:
    return [t for t in taken if t.norm not in INCLUSION_CUES and t.norm not in _LIST_GLUE]


def uncovered(taken: Iterable[Token], tools: list[ToolSpec], catalog: Catalog) -> list[str]:
    """The listed items none of the tools (or their steps) looks at, as written."""
    covered = set()
    for tool in _expanded(tools, catalog):
        covered |= {concept(part) for part in tool.name.split(".")[-1].split("_")}
        for example in tool.examples:
            covered |= set(example_words(example))
    # A service listed is covered by a step that takes one ("… including nginx").
    services = any("service" in tool.parameters for tool in _expanded(tools, catalog))
    missing = [
        t.text
        for t in _items(taken)
        if concept(t.norm) not in covered and not (services and t.kind is TokenKind.SERVICE)
    ]
    return list(dict.fromkeys(missing))


def not_covered(missing: list[str], tools: list[ToolSpec], catalog: Catalog) -> Clarification:
    quoted = _listed([f"'{w}'" for w in missing])
    one = len(missing) == 1
    steps = _step_names(tools)
    looks_at = (
        f"looks at {_listed(steps)}, not at {quoted}" if steps else f"does not cover {quoted}"
    )
    return Clarification(
        reason="not_understood",
        question=(
            f"That check {looks_at}. Ask for {'it' if one else 'them'} on "
            f"{'its' if one else 'their'} own, or ask again without {'it' if one else 'them'}."
        ),
    )


def _expanded(tools: list[ToolSpec], catalog: Catalog) -> list[ToolSpec]:
    found: list[ToolSpec] = []
    for tool in tools:
        if isinstance(tool, WorkflowTool):
            found += [catalog.tools[step.tool] for step in tool.steps if step.tool in catalog.tools]
        else:
            found.append(tool)
    return found


def _step_names(tools: list[ToolSpec]) -> list[str]:
    """A workflow's steps by their ids ('uptime', 'disk'); a plain tool has none to list."""
    names = [step.id for tool in tools if isinstance(tool, WorkflowTool) for step in tool.steps]
    return list(dict.fromkeys(names))


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
