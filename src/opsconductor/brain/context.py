"""What a rules-style brain does around reading one sentence: a request of several clauses is
read clause by clause, and what a clause (or a follow-up turn) leaves out — its hosts, the
service "it" stands for, the intent of "and on web-02?" — comes from the clause or turn before.
Whatever was filled in is said back (`DecisionV1.read_as`), so the person sees how it was read.

The sentence reader is given (`Read`); this module never guesses an intent or a host itself,
it only re-reads the request with the words the context supplies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opsconductor.brain import reports
from opsconductor.brain.base import BrainRequest, Context
from opsconductor.brain.between import between_sides, ping_rewrites
from opsconductor.brain.index import InventoryIndex
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.decision import (
    Clarification,
    ClarificationReason,
    Clause,
    DecisionV1,
    EntityType,
)

Read = Callable[[str, str, InventoryIndex], DecisionV1]  # request id, text, index
Changes = Callable[[DecisionV1], bool]  # does the decision's intent change a host?

# Words that open a question rather than an order: "and is nginx running" is not a new clause.
_NOT_ORDERS = frozenset({"what", "how", "is", "are", "which", "who", "when", "where", "number"})
# A clause starts after "and" / "then" (a comma before them allowed), or after a bare ';' or
# ',' — each only when an order's verb follows (`split_clauses`).
_JOINERS = (
    r"(?:(?:,\s*)?(?:\band\s+then\b|\bthen\b|\band\s+afterwards\b|\bafter\s+that\b|\band\b)"
    r"|;|,)"
)
_PRONOUN = re.compile(r"\b(it|its|that one|that service|the service)\b", re.IGNORECASE)
_HOST_PRONOUN = re.compile(
    r"\s*\b(on\s+)?(their|them|those|these|they)(\s+(hosts|servers|boxes))?\b", re.I
)
# "If web-01's CPU is over 80%, restart apache": a change on a condition. Clauses are read one
# by one, so the condition would be lost with them; the changes are left out and said so.
_CONDITION = re.compile(r"\b(if|unless|when|whether|otherwise|else)\b", re.IGNORECASE)
_WHETHER = re.compile(r"\b(check|see|verify|test|find\s+out|tell\s+me)\s+(if|whether)\b", re.I)
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
# Words of a narrowing that stand for an earlier answer: "those", "the prod ones".
_ANTECEDENT = re.compile(
    r"\b(those|these|them|that|it|this|ones?)\b|^(filter|narrow|limit|restrict)\b", re.I
)
_NAMES_PLACE = re.compile(r"\b(on|at|from)\s+\S+", re.IGNORECASE)
_PLACE_WORD = re.compile(r"^(on|in|at|for|to)\s+", re.IGNORECASE)
_FOLLOW_UP = re.compile(
    r"^(?:(?:and\s+)?(?:what|how)\s+about|(?:and\s+)?(?:the\s+)?same\s+(?:for|on|in)|and\s+(?:for|on|in)"
    r"|and(?=\s+\S+\s*\??$))\b",
    re.IGNORECASE,
)


def clause_verbs(examples: Iterable[str]) -> frozenset[str]:
    """The words that start an order in the catalog's own examples ("restart", "show")."""
    firsts = {example.split()[0].lower() for example in examples if example.split()}
    return frozenset(firsts - _NOT_ORDERS)


def split_clauses(text: str, verbs: frozenset[str]) -> list[str]:
    """The request's clauses: split where "and" / "then" / ';' / ',' is followed by an order's
    verb."""
    if not verbs:
        return [text]
    alternatives = "|".join(re.escape(v) for v in sorted(verbs))
    pattern = re.compile(rf"\s*{_JOINERS}\s+(?=(?:{alternatives})\b)", re.IGNORECASE)
    clauses = [part.strip(" ,") for part in pattern.split(text) if part.strip(" ,")]
    return clauses or [text]


@dataclass(frozen=True)
class _Said:
    """A clause or turn as it was finally read: its text and what it resolved."""

    text: str
    decision: DecisionV1


class ContextReader:
    """Reads requests of one or several clauses, with the conversation's context."""

    def __init__(self, read: Read, verbs: frozenset[str], changes: Changes) -> None:
        self.read = read
        self.verbs = verbs
        self.changes = changes

    def understand(self, request: BrainRequest) -> DecisionV1:
        text = _answer_to_options(request.text, request.context)
        sides = between_sides(text)
        if sides is not None:
            return self._between(request, sides)
        clauses = split_clauses(text, self.verbs) if text == request.text else [text]
        previous = _from_context(request.context)
        said: list[_Said] = []
        for position, clause in enumerate(clauses):
            dangling = self._dangling(request, clause)
            if dangling is not None:
                return dangling
            if previous is None and len(clauses) == 1 and _narrowing(clause, self.verbs):
                alone = self.read(request.request_id, clause, request.index)
                if not _understood(_Said(clause, alone)) or _ANTECEDENT.search(clause):
                    return _nothing_to_narrow(request, clause, alone)
            readings = self._distributed(request, clause) or [
                self._read_one(request, clause, previous or self._next(request, clauses, position))
            ]
            readings = [each for r in readings for each in self._per_service(request, r)]
            for reading in readings:
                if reading.decision.clarification is not None or reading.decision.intent is None:
                    return _whole_request_clarified(request, reading, said, len(clauses))
                said.append(reading)
                previous = reading
        if len(clauses) > 1 and _CONDITION.search(_WHETHER.sub("", text)):
            return self._without_conditional_changes(request, said)
        if len(said) == 1:
            return _one(request, said[0])
        return _merged(request, said)

    def _without_conditional_changes(self, request: BrainRequest, said: list[_Said]) -> DecisionV1:
        """The checks of a conditional request, and never its changes: OpsConductor does not
        act on an 'if' it would judge itself; the person sees the result and asks again."""
        changes = [s for s in said if self.changes(s.decision)]
        checks = [s for s in said if not self.changes(s.decision)]
        if not changes:
            return _one(request, checks[0]) if len(checks) == 1 else _merged(request, checks)
        left = ", ".join(f"'{s.text.strip(' .;')}'" for s in changes)
        if not checks:
            question = (
                f"I don't make changes on a condition ({left}). Ask for the check first; once "
                "you have seen its result, ask for the change."
            )
            return _asking(request, changes[0].decision, "not_understood", question)
        decision = _one(request, checks[0]) if len(checks) == 1 else _merged(request, checks)
        used = " then ".join(s.text for s in checks).strip().rstrip(".?!")
        note = (
            f"{used} (not {left}: I don't make changes on a condition; ask once you have seen this)"
        )
        return decision.model_copy(update={"read_as": _sentence(note)})

    def _between(self, request: BrainRequest, sides: tuple[str, str]) -> DecisionV1:
        """Latency or reachability between two ends: a ping from one to the other."""

        def read(text: str) -> DecisionV1:
            return self.read(request.request_id, text, request.index)

        first: _Said | None = None
        for rewrite in ping_rewrites(sides, request.index, read):
            said = _Said(rewrite, read(rewrite))
            if _understood(said):
                return _one(request, said)
            first = first or said
        if first is None:
            whole = read(request.text)
            unknown = whole.clarification is not None and whole.clarification.reason in {
                "unknown_host",
                "ambiguous",
            }
            if unknown:  # an end the inventory does not know: named before anything else
                return whole.model_copy(update={"request_id": request.request_id})
        question = (
            f"To measure the path between {sides[0]} and {sides[1]} I ping one end from the "
            "other, so one end must be one host with an address and the other hosts I can run "
            "a ping on: name them, e.g. 'ping web-01 from the api servers'."
        )
        decision = read(request.text) if first is None else first.decision
        return _asking(request, decision, "missing_input", question)

    def _next(self, request: BrainRequest, clauses: list[str], position: int) -> _Said | None:
        """The clause after this one, read on its own, when it names where it runs: the hosts
        of "drop database billing and reboot apihost-02" are named once, at the end."""
        if position + 1 >= len(clauses):
            return None
        after = self.read(request.request_id, clauses[position + 1], request.index)
        if after.clarification is not None or not after.targets:
            return None
        return _Said(clauses[position + 1], after)

    def _dangling(self, request: BrainRequest, clause: str) -> DecisionV1 | None:
        """A clarification for a part after "and" / "then" that names nothing and asks for
        nothing known ("… and frobnicate the flux capacitor"): never dropped silently."""
        whole: DecisionV1 | None = None
        for match in re.finditer(rf"\s{_JOINERS}\s+", clause, re.IGNORECASE):
            tail = clause[match.end() :].strip(" ?.!,")
            if not tail:
                continue
            whole = whole or self.read(request.request_id, clause, request.index)
            if _read_into_a_group(tail, whole):
                continue  # 'except the ones in dev and qa': the group took it
            read = self.read(request.request_id, tail, request.index)
            head = clause[: match.start()].strip(" ,")
            understood = self.read(request.request_id, head, request.index)
            # The head may lack its hosts: "restart nginx and frobnicate … on web-01".
            unclear = (
                understood.clarification is not None
                and understood.clarification.reason != "no_target"
            )
            if understood.intent is None or unclear:
                return None  # nothing to say was understood: the whole clause is read as one
            if read.intent is None and _beyond_places(tail, read):
                question = (
                    f"I understood '{clause[: match.start()].strip()}' but not '{tail}'. "
                    "Say it in other words, or ask for it on its own."
                )
                return _asking(request, read, "out_of_scope", question)
        return None

    def _distributed(self, request: BrainRequest, text: str) -> list[_Said] | None:
        """ "check disk and memory on web-01", "check disk, memory and cpu on web-01": one verb
        over several objects is a clause for each, on the hosts named once at the end. None
        when the "and" joins something else (two hosts, two filters) — that is, when the parts
        do not each read as a different action."""
        match = re.match(r"^(?P<verb>\S+)\s+(?P<left>.+?)\s+and\s+(?P<right>.+)$", text, re.I)
        if match is None or match.group("verb").lower() not in self.verbs:
            return None
        verb, right = match.group("verb"), match.group("right")
        last = self._read_one(
            request, right if right.split()[0].lower() in self.verbs else f"{verb} {right}", None
        )
        if not _understood(last):
            return None
        items = [item.strip() for item in match.group("left").split(",") if item.strip()]
        firsts = [self._read_one(request, f"{verb} {item}", last) for item in items]
        if not all(_understood(first) for first in firsts):
            return None
        readings = [*firsts, last]
        actions = {
            (r.decision.intent.category, r.decision.intent.action)
            for r in readings
            if r.decision.intent
        }
        if len(actions) < len(readings):
            return None  # one action over several things: the sentence reader's to read whole
        return readings

    def _per_service(self, request: BrainRequest, said: _Said) -> list[_Said]:
        """ "restart nginx and apache on web-01": a step acts on one service, so each service
        named in a list is a clause of its own, in the request's order. A count or list of
        assets over several services is asked about: 'and' could mean either or both."""
        services = [e for e in said.decision.entities if e.type is EntityType.SERVICE]
        if len(services) < 2 or not _understood(said):
            return [said]
        words = [e.matched or e.value for e in services]
        listed = re.search(
            r"\b" + r"(?:\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+)".join(map(re.escape, words)) + r"\b",
            said.text,
            re.IGNORECASE,
        )
        readings = []
        if listed is not None and said.decision.kind == "action":
            for word in words:
                text = f"{said.text[: listed.start()]}{word}{said.text[listed.end() :]}"
                readings.append(_Said(text, self.read(request.request_id, text, request.index)))
        if readings and all(_understood(r) for r in readings):
            return readings
        named = ", ".join(words)
        question = (
            f"You named several services ({named}), and I act on one at a time: ask for each "
            "on its own."
            if said.decision.kind == "action"
            else f"You named several services ({named}): hosts running all of them or any of "
            "them? I can count and list the hosts of one service at a time: ask for each."
        )
        clarification = Clarification(reason="not_understood", question=question)
        decision = said.decision.model_copy(
            update={"kind": "clarification", "clarification": clarification}
        )
        return [_Said(said.text, decision)]

    def _read_one(self, request: BrainRequest, text: str, previous: _Said | None) -> _Said:
        first = self.read(request.request_id, text, request.index)
        if previous is not None and reports.counts_nothing_named(text, first):
            counted = self._count_of(request, previous)
            if counted is not None:
                return counted
        special = self._beyond_one_reading(request, text, first)
        if special is not None:
            return special
        declared = _declared_hosts(first, request.index)
        if declared:
            # "restart billing-api": the hosts the inventory declares to run it, said back.
            again = self.read(request.request_id, f"{text} on {' '.join(declared)}", request.index)
            if again.clarification is None and again.intent is not None:
                return _Said(f"{text} on {', '.join(declared)}", again)
        if previous is None:
            return _Said(text, first)
        return self._after(request, text, first, previous) or _Said(text, first)

    def _after(
        self, request: BrainRequest, text: str, first: DecisionV1, previous: _Said
    ) -> _Said | None:
        """The text re-read with what the clause or turn before supplies; None when no
        re-reading is understood."""
        narrowed = _narrowing(text, self.verbs)
        if narrowed:
            candidate = f"{previous.text.rstrip(' ?.!')}, only {narrowed}"
            narrower = _Said(candidate, self.read(request.request_id, candidate, request.index))
            if _understood(narrower) and narrower.decision.intent == previous.decision.intent:
                return narrower
        for candidate in _with_context(text, first, previous, self.verbs):
            again = _Said(candidate, self.read(request.request_id, candidate, request.index))
            if _understood(again):
                return again
        return None

    def _count_of(self, request: BrainRequest, previous: _Said) -> _Said | None:
        """'how many are there?' after a list: the count of what was listed."""
        # A turn before this one is kept as its words: read again, they give its group.
        said = (
            previous.decision.entities
            or self.read(request.request_id, previous.text, request.index).entities
        )
        groups = [e for e in said if e.type is EntityType.GROUP]
        if len(groups) != 1:
            return None
        candidate = f"how many {groups[0].value} are there"
        counted = _Said(candidate, self.read(request.request_id, candidate, request.index))
        same = (
            counted.decision.entities and counted.decision.entities[-1].filter == groups[0].filter
        )
        return counted if _understood(counted) and same else None

    def _beyond_one_reading(
        self, request: BrainRequest, text: str, first: DecisionV1
    ) -> _Said | None:
        """What the sentence reader alone would get wrong (see `brain.reports`)."""
        sourced = self._without_source(request, text, first)
        if sourced is not None:
            if sourced.decision.clarification is None:
                return sourced
            first = sourced.decision
        beyond = reports.beyond_words(text, request.index)
        if beyond:  # whatever was read near it: no tool reaches these
            return _Said(text, reports.beyond_reach(first, beyond))
        if reports.counts_nothing_named(text, first):
            return _Said(text, reports.count_question(first))
        if reports.is_problem_report(text, first):
            return self._problem(request, text, first)
        return sourced  # the question of the reading without the source address, if any

    def _without_source(self, request: BrainRequest, text: str, first: DecisionV1) -> _Said | None:
        """Read without the address traffic comes from, saying nothing was narrowed to it."""
        found = reports.source_address(text, first)
        if found is None:
            return None
        rest, address = found
        said = f"{rest.rstrip('.?!')} (from every source: not narrowed to {address})"
        return _Said(said, self.read(request.request_id, rest, request.index))

    def _problem(self, request: BrainRequest, text: str, first: DecisionV1) -> _Said:
        """A problem reported about named hosts is their read-only health check, said back;
        one naming no host is asked where."""
        hosts = reports.reported_hosts(first)
        if hosts:
            check = f"run a health check on {' '.join(hosts)}"
            reading = self.read(request.request_id, check, request.index)
            if reading.clarification is None and reading.intent is not None:
                return _Said(check, reading)
        return _Said(text, reports.where_question(text, first, request.index))


def _narrowing(text: str, verbs: frozenset[str]) -> str | None:
    """What 'filter those to only Linux' narrows to ('Linux'); None for an order ('only
    restart nginx') or anything else."""
    match = _NARROWING.match(text)
    if match is None or match.group("rest").split()[0].lower() in verbs:
        return None
    return match.group("rest")


def _nothing_to_narrow(request: BrainRequest, clause: str, alone: DecisionV1) -> DecisionV1:
    """ "filter those to only Linux" with no turn before it to narrow."""
    question = (
        f"'{clause.strip(' ?.!')}' narrows an earlier answer, and there is none in this "
        "conversation. Which assets do you mean? Ask for them first (e.g. 'show me all "
        "servers'), then narrow them, or ask in one go ('show me all Linux servers')."
    )
    return _asking(request, alone, "no_target", question)


_PLACE_GLUE = frozenset({"on", "in", "at", "for", "to", "from", "the", "too", "as", "well", "also"})


def _beyond_places(tail: str, read: DecisionV1) -> bool:
    """Whether `tail` says more than where: 'frobnicate the flux capacitor on web-01' does,
    'web-02 too' does not."""
    if any(e.type not in {EntityType.ASSET, EntityType.GROUP} for e in read.entities):
        return False  # a service or a path: more of the same order ('nginx and postgres …')
    named = {w.lower() for e in read.entities for w in (e.matched or e.value).split()}
    return any(
        w.lower().strip(",.?!") not in named | _PLACE_GLUE for w in tail.split() if w.strip(",.?!")
    )


def _read_into_a_group(tail: str, whole: DecisionV1) -> bool:
    """Whether every word of `tail` is one the whole request's group was read from."""
    used = {
        w.lower() for e in whole.entities if e.type is EntityType.GROUP for w in e.matched.split()
    }
    return bool(used) and all(w.lower() in used for w in tail.split())


def _asking(
    request: BrainRequest, decision: DecisionV1, reason: ClarificationReason, question: str
) -> DecisionV1:
    """The decision, for the whole request, as the clarification `question`."""
    return decision.model_copy(
        update={
            "request_id": request.request_id,
            "text": request.text,
            "kind": "clarification",
            "clarification": Clarification(reason=reason, question=question),
        }
    )


def _understood(said: _Said) -> bool:
    return said.decision.intent is not None and said.decision.clarification is None


def _declared_hosts(decision: DecisionV1, index: InventoryIndex) -> list[str]:
    """The assets declared to run the service or application a request names but gives no
    host for; only declared services choose where a change runs."""
    clarification = decision.clarification
    if clarification is None or clarification.reason != "no_target" or decision.intent is None:
        return []
    named = decision.inputs.get("service") or decision.inputs.get("app")
    return sorted(index.services.get(named.lower(), [])) if named else []


def _from_context(context: Context) -> _Said | None:
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
    return _Said(said, decision)


def _with_context(
    text: str, first: DecisionV1, previous: _Said, verbs: frozenset[str]
) -> list[str]:
    """Re-readings of `text` with what the clause or turn before supplies, most specific
    first; empty when the text stands on its own."""
    follow = _FOLLOW_UP.match(text)
    if follow:
        return _follow_up(text[follow.end() :].strip(" ?.!,"), previous, verbs)
    base = _AGAIN.sub("", text).strip()
    service = previous.decision.inputs.get("service") or previous.decision.inputs.get("app")
    if service:
        base = _PRONOUN.sub(service, base)
    base = _HOST_PRONOUN.sub("", base).strip()
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


def _follow_up(rest: str, previous: _Said, verbs: frozenset[str]) -> list[str]:
    """ "and on web-02?", "same for staging": the turn before, elsewhere; "what about
    memory?": another check, on the same hosts."""
    if not rest:
        return []
    candidates = []
    if rest.split()[0].lower() not in verbs:
        action = _without_targets(previous)
        place = _PLACE_WORD.sub("", rest).strip()
        if action and place:
            candidates += [f"{action} on {place}", f"{action} in {place}"]
    where = _where(previous)
    if where and _NAMES_PLACE.search(rest) is None:
        candidates.append(f"{rest} on {where}")
    candidates.append(rest)
    return candidates


def _where(said: _Said) -> str:
    return " ".join(said.decision.targets or _target_words(said.decision))


def _target_words(decision: DecisionV1) -> list[str]:
    return [
        e.matched or e.value
        for e in decision.entities
        if e.type in {EntityType.ASSET, EntityType.GROUP}
    ]


def _without_targets(said: _Said) -> str:
    """The clause or turn before with the words that named its targets taken out."""
    text = said.text
    for words in _target_words(said.decision) or said.decision.targets:
        text = re.sub(rf"\s*\b(on|in|for|at|to)?\s*{re.escape(words)}\b", "", text, flags=re.I)
    return text.strip(" ?.,")


def _answer_to_options(text: str, context: Context) -> str:
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


def _one(request: BrainRequest, said: _Said) -> DecisionV1:
    decision = said.decision.model_copy(update={"request_id": request.request_id})
    if said.text != request.text:
        decision = decision.model_copy(update={"read_as": _sentence(said.text)})
    return decision.model_copy(update={"text": request.text})


def _merged(request: BrainRequest, said: list[_Said]) -> DecisionV1:
    decisions = [s.decision for s in said]
    first = decisions[0]
    clauses = [
        Clause(
            intent=d.intent,
            entities=d.entities,
            targets=d.targets,
            inputs=d.inputs,
            text=s.text,
        )
        for s, d in zip(said, decisions, strict=True)
        if d.intent is not None
    ]
    reasons = [f"clause {n}: {r}" for n, d in enumerate(decisions, 1) for r in d.reasons]
    used = " then ".join(s.text for s in said)
    kinds = {d.kind for d in decisions}
    return first.model_copy(
        update={
            "request_id": request.request_id,
            "text": request.text,
            "kind": "action" if "action" in kinds else "information",
            "risk_level": RiskLevel.highest(*(d.risk_level for d in decisions)),
            "confidence": min(d.confidence for d in decisions),
            "reasons": reasons,
            "clauses": clauses,
            "read_as": _sentence(used) if used != request.text else None,
        }
    )


def _whole_request_clarified(
    request: BrainRequest, reading: _Said, understood: list[_Said], count: int
) -> DecisionV1:
    decision = reading.decision.model_copy(
        update={"request_id": request.request_id, "text": request.text}
    )
    if count == 1 or decision.clarification is None:
        return decision
    done = "; ".join(f"'{s.text}'" for s in understood)
    prefix = f"I read {done}, but not all of it: " if understood else ""
    question = f"{prefix}'{reading.text}': {decision.clarification.question}"
    clarification = Clarification(
        reason=decision.clarification.reason,
        question=question,
        options=decision.clarification.options,
    )
    return decision.model_copy(update={"clarification": clarification, "kind": "clarification"})


def _sentence(text: str) -> str:
    return text.strip().rstrip(".?!") + "."
