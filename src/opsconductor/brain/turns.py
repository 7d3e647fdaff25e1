"""A turn read with the conversation before it: an answer to the last clarification's
options ("the first one"), a follow-up ("and on web-02?", "what about memory?", "restart it"),
a narrowing of the last answer ("filter those to only Linux"). Each is a re-reading of the
words with what the turn before supplies; nothing here guesses a host or an intent."""

from __future__ import annotations

import re
from collections.abc import Callable

from opsconductor.brain.base import BrainRequest, Context
from opsconductor.brain.entities import filter_inputs
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.said import Said, asking, questioned
from opsconductor.connectors.inventory import filter_from_inputs
from opsconductor.inventory.models import AssetFilter
from opsconductor.schemas.decision import DecisionV1, Entity, EntityType

_PRONOUN = re.compile(r"\b(it|its|that one|that service|the service)\b", re.IGNORECASE)
_HOST_PRONOUN = re.compile(
    r"\s*\b(on\s+)?(their|them|those|these|they)(\s+(hosts|servers|boxes))?\b", re.I
)
_AGAIN = re.compile(r"\s*\b(again|back up|back)\b", re.IGNORECASE)
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1}
_OPTION_REPLY = re.compile(
    r"^(?:the\s+)?(?P<ordinal>first|second|third|fourth|fifth|last)(?:\s+one)?$"
    r"|^(?:number\s+|#)?(?P<number>[1-9])$",
    re.IGNORECASE,
)
# "filter those to only Linux", "only the production ones", "narrow it down to dev": the turn
# before, narrowed further.
_NARROWING = re.compile(
    r"^(?:(?:now|ok|okay)\s+)?(?:(?:filter|narrow|limit|restrict|reduce|cut)\s+(?:down\s+)?"
    r"(?:those|these|them|that|it|this|the\s+list|the\s+results?)?\s*(?:down\s+)?"
    r"(?:to\s+)?(?:only\s+|just\s+)?|(?:(?:show|list|give)\s+(?:me\s+)?)?(?:only|just)\s+)"
    r"(?:the\s+)?(?P<rest>.+?)(?:\s+ones?)?[\s?.!]*$",
    re.IGNORECASE,
)
# "in production only", "the staging ones only": a narrowing said with 'only' at the end.
_ONLY_AFTER = re.compile(r"^(?P<rest>(?:in|at|on|the)\b.+?)\s+only[\s?.!]*$", re.IGNORECASE)
# Words of a narrowing that stand for an earlier answer: "those", "the prod ones".
ANTECEDENT = re.compile(
    r"\b(those|these|them|that|it|this|ones?)\b|^(filter|narrow|limit|restrict)\b", re.I
)
_NAMES_PLACE = re.compile(r"\b(on|at|from|to|in)\s+\S+", re.IGNORECASE)
_PLACE_WORD = re.compile(r"^(on|in|at|for|to)\s+", re.IGNORECASE)
_FOLLOW_UP = re.compile(
    r"^(?:(?:and\s+)?(?:what|how)\s+about|(?:and\s+|now\s+|ok\s+)?(?:do\s+)?(?:the\s+)?same"
    r"(?:\s+thing)?\s+(?:for|on|in|with)|and\s+(?:for|on|in|from)"
    r"|(?:and\s+|now\s+)?also\s+(?:on|to|for|in|from)|now\s+(?:on|to|for|in|from)"
    r"|now(?=\s+\S+\s*\??$)|and(?=\s+\S+\s+on\s+\S+\s*\??$)"
    r"|and(?=\s+\S+\s*\??$))\b",
    re.IGNORECASE,
)


def answer_to_options(text: str, context: Context) -> str:
    """A reply that picks one of the last clarification's options ("the first one",
    "web-prod-01"), as the request that was being clarified, with that option in it."""
    if not context.options or not context.turns:
        return text
    choice = _chosen_option(text, context.options)
    if choice is None:
        return text
    asked = context.turns[-1]
    if context.about and re.search(rf"\b{re.escape(context.about)}\b", asked, re.I):
        return re.sub(rf"\b{re.escape(context.about)}\b", choice, asked, count=1, flags=re.I)
    return f"{asked} on {choice}"


def _chosen_option(text: str, options: tuple[str, ...]) -> str | None:
    reply = text.strip(" .!?").lower()
    for option in options:
        if reply == option.lower():
            return option
    match = _OPTION_REPLY.match(reply)
    if match is None:
        return None
    position = (
        _ORDINALS[match.group("ordinal").lower()]
        if match.group("ordinal")
        else int(match.group("number")) - 1
    )
    if position >= len(options):
        return None
    return options[position]


def from_context(context: Context) -> Said | None:
    if context.intent is None or not context.said:
        return None
    said = context.said
    decision = DecisionV1(
        request_id="context",
        text=said,
        kind="action",
        intent=context.intent,
        targets=list(context.targets),
        inputs=dict(context.inputs),
        confidence=1.0,
    )
    return Said(said, decision)


def with_context(text: str, first: DecisionV1, previous: Said, verbs: frozenset[str]) -> list[str]:
    """Re-readings of `text` with what the clause or turn before supplies, most specific
    first; empty when the text stands on its own."""
    follow = _FOLLOW_UP.match(text)
    if follow:
        return _follow_up(text[follow.end() :].strip(" ?.!,"), previous, first, verbs)
    base = _AGAIN.sub("", text).strip()
    service = previous.decision.inputs.get("service") or previous.decision.inputs.get("app")
    if service:
        base = _PRONOUN.sub(service, base)
    base = _HOST_PRONOUN.sub("", base).strip(" .!?")
    where = _where(previous)
    lacks_targets = first.clarification is not None and first.clarification.reason in {
        "no_target",
        "missing_input",
    }
    # A request that names where it runs ("check disk on web") keeps its own words.
    names_place = _NAMES_PLACE.search(base) is not None
    candidates = []
    if (lacks_targets or base != text) and where and not names_place:
        candidates.append(f"{base} on {where}")
    if base != text:
        candidates.append(base)
    return candidates


# What a count or list turn asked, by its action: a follow-up asks it again of another group.
_ASKED = {"count_assets": "how many", "list_assets": "list"}


def regrouped(text: str, previous: Said, read: Callable[[str], DecisionV1]) -> Said | None:
    """'and in staging?', 'what about windows?', 'and linux?' after a count or list: the same
    question, with each value the follow-up gives in place of the one of its kind ('how many
    Linux servers in production?' → 'in staging' → staging Linux servers, not both)."""
    follow = _FOLLOW_UP.match(text)
    intent = previous.decision.intent
    if follow is None or intent is None or intent.action not in _ASKED:
        return None
    before = _group(previous.decision.entities or read(previous.text).entities)
    rest = _PLACE_WORD.sub("", text[follow.end() :].strip(" ?.!,")).strip()
    readings = (read(words) for words in (f"list all {rest} assets", f"list assets in {rest}"))
    given = next((g for r in readings if (g := _group(r.entities)) and g.filter), None)
    if not rest or before is None or given is None or before.filter is None:
        return None
    merged = filter_from_inputs({**before.filter, **(given.filter or {})})
    candidate = f"{_ASKED[intent.action]} {merged.describe()}"
    said = Said(candidate, read(candidate))
    after = _group(said.decision.entities)
    same = after is not None and filter_from_inputs(after.filter or {}) == merged
    return said if same and said.decision.clarification is None else None


# "reboot them", "stop postgresql on all of them but db-01", "the production ones": words
# that stand for the group of the turn or clause before.
_GROUP_ANTECEDENT = re.compile(
    r"\b(?:all\s+of\s+)?(?:them|those|these)\b|\b(?:the\s+)?(?P<q>[\w-]+\s+)?ones\b", re.I
)
_SCOPE = re.compile(r"\b(?:all|everything|every\s+one)\b", re.IGNORECASE)
_CHOICE_KEYS = frozenset({"exclude", "either"})


def on_earlier_group(
    text: str,
    first: DecisionV1,
    previous: Said,
    read: Callable[[str], DecisionV1],
    index: InventoryIndex,
) -> Said | DecisionV1 | None:
    """'list windows workstations' then 'reboot all except ws-102': 'all', 'them', 'the
    production ones' are the group before, narrowed by what this turn adds — never every
    asset. The re-reading must keep the earlier group whole, or the turn is asked about (the
    clarification is returned); None when the turn does not lean on an earlier group."""
    earlier = _group(previous.decision.entities or read(previous.text).entities)
    if earlier is None or not earlier.filter:
        return None
    now = _group(first.entities)
    leans = _GROUP_ANTECEDENT.search(text) is not None
    only_choices = now is not None and bool(now.filter) and set(now.filter or {}) <= _CHOICE_KEYS
    if not (leans or only_choices):
        return None
    given = {k: v for k, v in ((now.filter or {}) if now else {}).items() if k not in _CHOICE_KEYS}
    wanted = filter_from_inputs({**earlier.filter, **given})
    spoken = _spoken(wanted)
    candidates = [_GROUP_ANTECEDENT.sub(spoken, text, count=1)] if leans else []
    if _SCOPE.search(text):
        candidates.append(_SCOPE.sub(spoken, text, count=1))
    intent = previous.decision.intent
    if intent is not None and intent.action in _ASKED and (first.intent == intent or only_choices):
        candidates.append(f"{_ASKED[intent.action]} {spoken}, {text}")
    for candidate in candidates:
        said = Said(candidate, read(candidate))
        got = _group(said.decision.entities)
        if said.decision.clarification is None and got is not None and _keeps(got, wanted):
            narrowed = _narrowed_to(said.decision, got, wanted, index)
            group = _group(narrowed.entities)
            if group is not None and group.filter != got.filter:  # exclusions added: said
                candidate = f"{candidate} ({filter_from_inputs(group.filter or {}).describe()})"
            return Said(candidate, narrowed)
    question = (
        f"'{text.strip(' ?.!')}' leans on the group before ({wanted.describe()}), and I could "
        "not read it as part of that group. Name the group again in full."
    )
    return questioned(first, "no_target", question)


def _spoken(flt: AssetFilter) -> str:
    """A filter's positive values in words the sentence reader reads back ('production linux
    servers tagged web in 10.1.1.'); its exclusions are added to the reading afterwards."""
    noun = f"{flt.device_type.value}s" if flt.device_type else "hosts"
    words = [flt.environment or "", flt.os_type.value if flt.os_type else "", noun]
    if flt.tags:
        words.append("tagged " + " and ".join(flt.tags))
    if flt.ip_prefix:
        words.append(f"in {flt.ip_prefix}")
    if flt.text:
        words.append(f"with {flt.text} in the name")
    return " ".join(w for w in words if w)


def _keeps(got: Entity, wanted: AssetFilter) -> bool:
    """Whether the group read keeps every positive value of the one wanted (exclusions and
    alternatives are added after, `_narrowed_to`)."""
    have = filter_from_inputs(got.filter or {})
    for key, value in wanted.model_dump(exclude_defaults=True).items():
        if key in _CHOICE_KEYS:
            continue
        mine = getattr(have, key)
        if key == "tags" and not set(value) <= set(mine):
            return False
        if key != "tags" and mine != value:
            return False
    return True


def _narrowed_to(
    decision: DecisionV1, got: Entity, wanted: AssetFilter, index: InventoryIndex
) -> DecisionV1:
    """The reading with the earlier group's and this turn's exclusions and alternatives in its
    filter and out of its targets. Its risk was judged on the wider set: never lower."""
    have = filter_from_inputs(got.filter or {})
    merged = have.model_copy(
        update={
            "exclude": tuple(dict.fromkeys([*have.exclude, *wanted.exclude])),
            "either": tuple(dict.fromkeys([*have.either, *wanted.either])),
        }
    )
    entity = got.model_copy(update={"filter": filter_inputs(merged)})
    entities = [entity if e is got else e for e in decision.entities]
    targets = [
        t for t in decision.targets if t not in index.assets or index.assets[t].matches(merged)
    ]
    return decision.model_copy(update={"entities": entities, "targets": targets})


def _group(entities: list[Entity]) -> Entity | None:
    groups = [e for e in entities if e.type is EntityType.GROUP]
    return groups[0] if len(groups) == 1 else None


def _follow_up(rest: str, previous: Said, first: DecisionV1, verbs: frozenset[str]) -> list[str]:
    """ "and on web-02?", "same for staging": the turn before, elsewhere; "what about
    memory?": another check, on the same hosts."""
    if not rest:
        return []
    candidates = []
    if rest.split()[0].lower() not in verbs:
        action = _without_targets(previous)
        place = _PLACE_WORD.sub("", rest).strip()
        candidates += _another_service(rest, previous, first)
        if action and place:
            candidates += [f"{action} on {place}", f"{action} in {place}"]
    where = _where(previous)
    if where and _NAMES_PLACE.search(rest) is None:
        candidates.append(f"{rest} on {where}")
    candidates.append(rest)
    return candidates


def _another_service(rest: str, previous: Said, first: DecisionV1) -> list[str]:
    """'do the same for apache', 'and postgres on db-01': the order before, with the service
    the follow-up names (as the follow-up read on its own found it) in place of its own, and
    its hosts when it names them."""
    service = previous.decision.inputs.get("service")
    words = rest.split()
    named = (first.inputs.get("service") or "").lower()
    if not service or not words or named != words[0].lower() or named == service.lower():
        return []
    swapped = re.sub(rf"\b{re.escape(service)}\b", words[0], previous.text, flags=re.I)
    if swapped == previous.text:
        return []
    if len(words) == 1:
        return [swapped]
    action = _without_targets(Said(swapped, previous.decision))
    return [f"{action} {' '.join(words[1:])}"]


def _where(said: Said) -> str:
    return " ".join(said.decision.targets or _target_words(said.decision))


def _target_words(decision: DecisionV1) -> list[str]:
    return [
        e.matched or e.value
        for e in decision.entities
        if e.type in {EntityType.ASSET, EntityType.GROUP}
    ]


def _without_targets(said: Said) -> str:
    """The clause or turn before with the words that named its targets taken out."""
    text = said.text
    for words in _target_words(said.decision) or said.decision.targets:
        text = re.sub(rf"\s*\b(on|in|for|at|to|from)?\s*{re.escape(words)}\b", "", text, flags=re.I)
    return text.strip(" ?.,")


def narrowing(text: str, verbs: frozenset[str]) -> str | None:
    """What 'filter those to only Linux' narrows to ('Linux'); None for an order ('only
    restart nginx') or anything else."""
    match = _NARROWING.match(text) or _ONLY_AFTER.match(text)
    if match is None or match.group("rest").split()[0].lower() in verbs:
        return None
    return match.group("rest")


def nothing_to_narrow(request: BrainRequest, clause: str, alone: DecisionV1) -> DecisionV1:
    """ "filter those to only Linux" with no turn before it to narrow."""
    question = (
        f"'{clause.strip(' ?.!')}' narrows an earlier answer, and there is none in this "
        "conversation. Which assets do you mean? Ask for them first (e.g. 'show me all "
        "servers'), then narrow them, or ask in one go ('show me all Linux servers')."
    )
    return asking(request, alone, "no_target", question)
