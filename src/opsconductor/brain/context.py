"""What a rules-style brain does around reading one sentence: a request of several clauses is
read clause by clause, and what a clause (or a follow-up turn) leaves out — its hosts, the
service "it" stands for, the intent of "and on web-02?" — comes from the clause or turn before.
Whatever was filled in is said back (`DecisionV1.read_as`), so the person sees how it was read.

The sentence reader is given (`Read`); this module never guesses an intent or a host itself,
it only re-reads the request with the words the context supplies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from opsconductor.brain import lexicon, reports, sequence
from opsconductor.brain.base import BrainRequest
from opsconductor.brain.between import between_sides, directed_ping, ping_rewrites
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.said import (
    Said,
    asking,
    merged,
    one,
    questioned,
    sentence,
    understood,
    whole_request_clarified,
)
from opsconductor.brain.turns import (
    ANTECEDENT,
    answer_to_options,
    from_context,
    narrowing,
    nothing_to_narrow,
    on_earlier_group,
    regrouped,
    with_context,
)
from opsconductor.schemas.decision import DecisionV1, EntityType

Read = Callable[[str, str, InventoryIndex], DecisionV1]  # request id, text, index
Changes = Callable[[DecisionV1], bool]  # does the decision's intent change a host?

# Words that open a question rather than an order: "and is nginx running" is not a new clause.
_NOT_ORDERS = frozenset({"what", "how", "is", "are", "which", "who", "when", "where", "number"})
# A clause starts after "and" / "then" / "otherwise" (a comma before them allowed), or after a
# bare ';' or ',' — each only when an order's verb follows (`split_clauses`).
_JOINERS = (
    r"(?:(?:[;,]\s*)?(?:\botherwise\b|\bor\s+else\b|\belse\b),?(?:\s+just)?"
    r"|(?:,\s*)?(?:\band\s+then\b|\bthen\b|\band\s+afterwards\b|\bafter\s+that\b|\band\b|\bbut\b)"
    r"|;|,)"
)
# "If web-01's CPU is over 80%, restart apache": a change on a condition. Clauses are read one
# by one, so the condition would be lost with them; the changes are left out and said so.
# "once the deploy is done" is a condition; "restart nginx once" is not.
_ONCE = r"once(?=\s+(?:the|it|its|that|this|they|we|you|everything|all)\b)"
_CONDITION = re.compile(
    r"\b(if|unless|when|whenever|whether|otherwise|else|provided|providing|assuming|in\s+case"
    rf"|{_ONCE})\b",
    re.IGNORECASE,
)
# "restart nginx on web-01 if it is down": an order, then its condition.
_AFTER_CONDITION = re.compile(
    r"^(?P<order>.+?)\s*,?\s+(?:only\s+)?\b(?:if|unless|when|whenever|in\s+case|provided"
    rf"|providing|assuming|{_ONCE})\b(?P<condition>.*)$",
    re.IGNORECASE,
)
# "don't reboot web-01", "do not restart nginx on web-01, just check its status".
_NEGATED_ORDER = re.compile(
    r"^(?:please\s+)?(?:don'?t|do\s+not|never)\s+(?P<order>(?P<verb>[a-z-]+)\b.*?)"
    r"(?:\s*[,;]\s*(?:but\s+|instead\s+)?(?:just\s+|only\s+|rather\s+)?(?P<rest>\S.*))?"
    r"[\s.!?]*$",
    re.IGNORECASE,
)
# "check uptime on web-01 but don't reboot it": what to do, then what not to.
_BUT_NOT = re.compile(
    r"^(?P<keep>.+?)\s*,?\s+(?:but|and)\s+(?:don'?t|do\s+not|never)\s+"
    r"(?P<order>(?P<verb>[a-z-]+)\b.*?)[\s.!?]*$",
    re.IGNORECASE,
)
# "80 and 443", "1234, 5678 and 9012": numbers listed for one parameter.
_NUMBER_LIST = re.compile(r"\b\d+(?:\s*,\s*\d+)*\s*,?\s+(?:and|&)\s+\d+\b")
_BOTH = re.compile(r"\bboth\b", re.IGNORECASE)
_ONES = re.compile(r"\bones?\b", re.IGNORECASE)
# "the older one", "the other one", "the bigger ones": a choice only a look could make.
_WHICH_ONE = re.compile(r"\bthe\s+(?:other|[a-z]+er)\s+ones?\b", re.IGNORECASE)
# "everything there" (not "how many are there"): the place of the turn before.
_THERE = re.compile(r"(?<!\bare )(?<!\bis )(?<!\bwere )(?<!\bwas )\bthere\b", re.IGNORECASE)
# "if nginx is down on web-01, …": a condition before its order.
_BEFORE_ORDER = re.compile(r"^(?:if|when|whenever|unless|in\s+case)\b", re.IGNORECASE)
# "… if not", "… if so", "… if needed": the condition is the result of the check before.
_ABOUT_THE_LAST_CHECK = frozenset(
    {"not", "so", "needed", "necessary", "required", "it is", "it's", "it isn't", "it's not", ""}
    | {"it is not", "there is", "it failed", "down", "it's down", "it is down", "stopped"}
)
_PRONOUN = re.compile(r"\b(?:it|its|it's|they|their|them)\b\s*", re.IGNORECASE)
_WHETHER = re.compile(r"\b(check|see|verify|test|find\s+out|tell\s+me)\s+(if|whether)\b", re.I)


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


class ContextReader:
    """Reads requests of one or several clauses, with the conversation's context."""

    def __init__(self, read: Read, verbs: frozenset[str], changes: Changes) -> None:
        self.read = read
        self.verbs = verbs
        self.changes = changes

    def understand(self, request: BrainRequest) -> DecisionV1:
        text = answer_to_options(request.text, request.context)
        whole = self._read_whole(request, text)
        if whole is not None:
            return whole
        answered = text != request.text  # an answer to the last turn's options: one clause
        pause = None if answered else sequence.PAUSE.search(text)
        if pause is not None:
            return self._paused(request, pause.group(0))
        clauses = [text] if answered else split_clauses(self._in_order(request, text), self.verbs)
        previous = from_context(request.context)
        said: list[Said] = []
        for position in range(len(clauses)):
            readings = self._clause(request, clauses, position, previous)
            if isinstance(readings, DecisionV1):
                return readings
            for reading in readings:
                if reading.decision.clarification is not None or reading.decision.intent is None:
                    return whole_request_clarified(request, reading, said, len(clauses))
                said.append(reading)
                previous = reading
        if len(said) > 1 and _CONDITION.search(_WHETHER.sub("", text)):
            return self._without_conditional_changes(request, said)
        if len(said) == 1:
            return one(request, said[0])
        return merged(request, said)

    def _clause(
        self, request: BrainRequest, clauses: list[str], position: int, previous: Said | None
    ) -> list[Said] | DecisionV1:
        """The readings of one clause (several for a list), or the clarification it ends in."""
        clause = clauses[position]
        conditional = self._on_condition(request, clause, previous)
        if conditional is not None:
            return conditional
        dangling = self._dangling(request, clause)
        if dangling is not None:
            return dangling
        if previous is None and len(clauses) == 1 and narrowing(clause, self.verbs):
            alone = self.read(request.request_id, clause, request.index)
            if not understood(Said(clause, alone)) or ANTECEDENT.search(clause):
                return nothing_to_narrow(request, clause, alone)
        context = previous or self._next(request, clauses, position)
        numbered = self._per_number(request, self._read_one(request, clause, context))
        if len(numbered) > 1:  # 'open port 80 and 443 on web-01': a step per number
            readings = numbered
        else:
            readings = self._distributed(request, clause) or [
                self._read_one(request, clause, context)
            ]
        return [each for r in readings for each in self._per_service(request, r)]

    def _on_condition(
        self, request: BrainRequest, clause: str, previous: Said | None
    ) -> list[Said] | None:
        """'restart nginx on web-01 if it is down', '… and restart it if not': the change, and
        before it the check its condition asks for — the check of the clause before, or of the
        service the change names, or the condition read on the change's hosts. The change is
        then left out and said so (`_without_conditional_changes`); None when the clause is no
        change on a condition."""
        if _BEFORE_ORDER.match(clause):
            return self._condition_checked(request, clause)
        match = _AFTER_CONDITION.match(clause)
        if match is None or _WHETHER.search(clause):
            return None
        order = self._read_one(request, match.group("order"), previous)
        if not understood(order) or not self.changes(order.decision):
            return None
        condition = match.group("condition").strip(" ?.!")
        checked = previous is not None and not self.changes(previous.decision)
        if checked and condition.lower() in _ABOUT_THE_LAST_CHECK:
            return [order]  # the check is the clause before: "… and restart it if not"
        hosts = " ".join(order.decision.targets)
        service = order.decision.inputs.get("service")
        candidates = [f"check {service} status on {hosts}"] if service else []
        candidates += [f"{_PRONOUN.sub('', condition)} on {hosts}"]
        candidates += [f"run a health check on {hosts}"]
        for candidate in candidates:
            check = Said(candidate, self.read(request.request_id, candidate, request.index))
            if understood(check) and not self.changes(check.decision):
                return [check, order]
        return None

    def _condition_checked(self, request: BrainRequest, clause: str) -> list[Said] | None:
        """'if nginx is down on web-01': a condition on a service is that service's status."""
        reading = self.read(request.request_id, clause, request.index)
        service = reading.inputs.get("service")
        groups = [e.matched for e in reading.entities if e.type is EntityType.GROUP]
        where = " ".join(reading.targets) or (f"the {groups[0]}" if groups else "")
        if not service or not where:  # read or not, it names what to check and where
            return None
        check = f"check {service} status on {where}"
        said = Said(check, self.read(request.request_id, check, request.index))
        return [said] if understood(said) else None

    def _read_whole(self, request: BrainRequest, text: str) -> DecisionV1 | None:
        """Requests read as one before any split into clauses: a path between two ends, a
        ping from one host to another, an order said not to be done."""
        lowered = " ".join(re.findall(r"[a-z']+", text.lower()))
        corrected = next((c for c in lexicon.CORRECTIONS if f" {c} " in f" {lowered} "), None)
        if corrected is not None:
            reading = self.read(request.request_id, text, request.index)
            question = (
                f"You corrected yourself ('{corrected}'), and I won't guess which part you "
                "meant. Ask again with just what you want done."
            )
            return asking(request, reading, "not_understood", question)
        sides = between_sides(text)
        if sides is not None:
            return self._between(request, sides)
        pinged = self._directed_ping(request, text)
        if pinged is not None:
            return pinged
        negated = _NEGATED_ORDER.match(text)
        if negated is not None and negated.group("verb").lower() in self.verbs:
            return self._negated(request, negated.group("order"), negated.group("rest"))
        kept = _BUT_NOT.match(text)
        if kept is not None and kept.group("verb").lower() in self.verbs:
            keep = self.read(request.request_id, kept.group("keep"), request.index)
            if not self.changes(keep):  # 'check uptime on web-01 but don't reboot it'
                return self._negated(request, kept.group("order"), kept.group("keep"))
        return None

    def _negated(self, request: BrainRequest, order: str, rest: str | None) -> DecisionV1:
        """'don't reboot web-01', 'do not restart nginx on web-01, just check its status': the
        order said not to be done is never planned; what follows it is read with its hosts."""
        refused = Said(order, self.read(request.request_id, order, request.index))
        if rest:
            said = self._read_one(request, rest, refused if understood(refused) else None)
            if understood(said) and not self.changes(said.decision):
                note = f"{said.text} (not '{order}', as you said)"
                decision = one(request, said)
                return decision.model_copy(update={"read_as": sentence(note)})
        question = (
            f"You asked me not to {order}, and nothing I can run besides: there is nothing to "
            "do. Ask for what you want done or checked."
        )
        return asking(request, refused.decision, "not_understood", question)

    def _directed_ping(self, request: BrainRequest, text: str) -> DecisionV1 | None:
        """'ping db-01 from web-01': run on the source, to the destination's address."""
        rewrite = directed_ping(
            text, request.index, lambda words: self.read(request.request_id, words, request.index)
        )
        if rewrite is None:
            return None
        said = Said(rewrite, self.read(request.request_id, rewrite, request.index))
        return one(request, said) if understood(said) else None

    def _in_order(self, request: BrainRequest, text: str) -> str:
        """The request with its order said the one way `split_clauses` reads (`sequence`)."""
        text = sequence.kept_elsewhere(sequence.with_plain_joiners(sequence.as_an_order(text)))
        text = sequence.checks_first(text, self.verbs)
        return sequence.verb_repeated(text, self.verbs, lambda part: self._place(request, part))

    def _place(self, request: BrainRequest, text: str) -> bool:
        """Whether `text` only says where ('app-02', 'the staging servers')."""
        read = self.read(request.request_id, text, request.index)
        places = {EntityType.ASSET, EntityType.GROUP}
        return (
            bool(read.entities)
            and not _beyond_places(text, read)
            and all(e.type in places for e in read.entities)
        )

    def _paused(self, request: BrainRequest, pause: str) -> DecisionV1:
        """'reboot app-01, wait 5 minutes, then reboot app-02': steps run one after another,
        each as soon as the one before has ended, never after a pause; said, not dropped."""
        question = (
            f"I run what you ask now, steps one after another, each as soon as the one before "
            f"has finished; I can't wait for a time or an event ('{pause.strip()}'). Ask without "
            "it, or ask for that part when you are ready."
        )
        reading = self.read(request.request_id, request.text, request.index)
        return asking(request, reading, "not_understood", question)

    def _without_conditional_changes(self, request: BrainRequest, said: list[Said]) -> DecisionV1:
        """The checks of a conditional request, and never its changes: OpsConductor does not
        act on an 'if' it would judge itself; the person sees the result and asks again."""
        changes = [s for s in said if self.changes(s.decision)]
        checks = [s for s in said if not self.changes(s.decision)]
        if not changes:
            return one(request, checks[0]) if len(checks) == 1 else merged(request, checks)
        left = ", ".join(f"'{s.text.strip(' .;')}'" for s in changes)
        if not checks:
            question = (
                f"I don't make changes on a condition ({left}). Ask for the check first; once "
                "you have seen its result, ask for the change."
            )
            return asking(request, changes[0].decision, "not_understood", question)
        decision = one(request, checks[0]) if len(checks) == 1 else merged(request, checks)
        used = " then ".join(s.text for s in checks).strip().rstrip(".?!")
        note = (
            f"{used} (not {left}: I don't make changes on a condition; ask once you have seen this)"
        )
        return decision.model_copy(update={"read_as": sentence(note)})

    def _between(self, request: BrainRequest, sides: tuple[str, str]) -> DecisionV1:
        """Latency or reachability between two ends: a ping from one to the other."""

        def read(text: str) -> DecisionV1:
            return self.read(request.request_id, text, request.index)

        first: Said | None = None
        for rewrite in ping_rewrites(sides, request.index, read):
            said = Said(rewrite, read(rewrite))
            if understood(said):
                return one(request, said)
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
        return asking(request, decision, "missing_input", question)

    def _next(self, request: BrainRequest, clauses: list[str], position: int) -> Said | None:
        """The clause after this one, read on its own, when it names where it runs: the hosts
        of "drop database billing and reboot apihost-02" are named once, at the end."""
        if position + 1 >= len(clauses):
            return None
        after = self.read(request.request_id, clauses[position + 1], request.index)
        if after.clarification is not None or not after.targets:
            return None
        return Said(clauses[position + 1], after)

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
                return asking(request, read, "out_of_scope", question)
        return None

    def _distributed(self, request: BrainRequest, text: str) -> list[Said] | None:
        """ "check disk and memory on web-01", "check disk, memory and cpu on web-01": one verb
        over several objects is a clause for each, on the hosts named once at the end. None
        when the "and" joins something else (two hosts, two filters) — that is, when the parts
        do not each read as a different action."""
        match = re.match(r"^(?P<verb>\S+)\s+(?P<left>.+?)\s+and\s+(?P<right>.+)$", text, re.I)
        if match is None or match.group("verb").lower() not in self.verbs:
            return None
        verb, right = match.group("verb"), match.group("right")
        if self._place(request, right):
            return None  # 'kill java on app-01 and app-02': more hosts, not another action
        right = right if right.split()[0].lower() in self.verbs else f"{verb} {right}"
        items = [item.strip() for item in match.group("left").split(",") if item.strip()]
        last = self._read_one(request, right, None)
        if understood(last) and _ONES.search(right):
            # 'restart nginx on production web servers and php-fpm on staging ones': the
            # ones of the part before, read with it.
            firsts = [self._read_one(request, f"{verb} {item}", None) for item in items]
            last = self._read_one(request, right, firsts[-1]) if firsts else last
        elif understood(last):  # the hosts are named once, at the end
            firsts = [self._read_one(request, f"{verb} {item}", last) for item in items]
        else:  # … or once, at the start: "check disk on web-01 and memory"
            firsts = [self._read_one(request, f"{verb} {item}", None) for item in items]
            last = self._read_one(request, right, firsts[-1]) if firsts else last
        if not understood(last) or not all(understood(first) for first in firsts):
            return None
        readings = [*firsts, last]
        actions = {
            (r.decision.intent.category, r.decision.intent.action)
            for r in readings
            if r.decision.intent
        }
        inputs = {tuple(sorted(r.decision.inputs.items())) for r in readings}
        if len(actions) < len(readings) and len(inputs) < len(readings):
            return None  # one action over several things: the sentence reader's to read whole
        return readings  # 'deploy checkout 1.2.3 and billing 2.0.0 to app-stg-01': each its own

    def _per_number(self, request: BrainRequest, said: Said) -> list[Said]:
        """'open port 80 and 443 on web-01', 'kill pid 1234 and 5678': a step takes one number,
        so each number listed is a step of its own, in the request's order — never only the
        first."""
        listed = _NUMBER_LIST.search(said.text)
        if listed is None or not understood(said):
            return [said]
        numbers = re.findall(r"\d+", listed.group(0))
        if not any(v == numbers[0] for v in said.decision.inputs.values()):
            return [said]
        readings = []
        for number in numbers:
            text = f"{said.text[: listed.start()]}{number}{said.text[listed.end() :]}"
            readings.append(Said(text, self.read(request.request_id, text, request.index)))
        return readings if all(understood(r) for r in readings) else [said]

    def _per_service(self, request: BrainRequest, said: Said) -> list[Said]:
        """ "restart nginx and apache on web-01": a step acts on one service, so each service
        named in a list is a clause of its own, in the request's order. A count or list of
        assets over several services is asked about: 'and' could mean either or both."""
        services = [e for e in said.decision.entities if e.type is EntityType.SERVICE]
        if len(services) < 2 or not understood(said):
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
                readings.append(Said(text, self.read(request.request_id, text, request.index)))
        if readings and all(understood(r) for r in readings):
            return readings
        named = ", ".join(words)
        question = (
            f"You named several services ({named}), and I act on one at a time: ask for each "
            "on its own."
            if said.decision.kind == "action"
            else f"You named several services ({named}): hosts running all of them or any of "
            "them? I can count and list the hosts of one service at a time: ask for each."
        )
        return [Said(said.text, questioned(said.decision, "not_understood", question))]

    def _read_one(self, request: BrainRequest, text: str, previous: Said | None) -> Said:
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
                return Said(f"{text} on {', '.join(declared)}", again)
        unsure = _unsure_hosts(text, first, previous)
        if unsure is not None:
            return Said(text, unsure)
        if previous is None:
            return Said(text, first)
        return self._after(request, text, first, previous) or Said(text, first)

    def _after(
        self, request: BrainRequest, text: str, first: DecisionV1, previous: Said
    ) -> Said | None:
        """The text re-read with what the clause or turn before supplies; None when no
        re-reading is understood."""
        if not previous.decision.entities:  # a turn before this one is kept as its words
            entities = self.read(request.request_id, previous.text, request.index).entities
            decision = previous.decision.model_copy(update={"entities": entities})
            previous = Said(previous.text, decision)
        regrouping = regrouped(
            text, previous, lambda words: self.read(request.request_id, words, request.index)
        )
        if regrouping is not None:
            return regrouping
        narrowed = narrowing(text, self.verbs)
        if narrowed:
            candidate = f"{previous.text.rstrip(' ?.!')}, only {narrowed}"
            narrower = Said(candidate, self.read(request.request_id, candidate, request.index))
            if understood(narrower) and narrower.decision.intent == previous.decision.intent:
                return narrower
        grouped = on_earlier_group(
            text,
            first,
            previous,
            lambda words: self.read(request.request_id, words, request.index),
            request.index,
        )
        if grouped is not None:
            return Said(text, grouped) if isinstance(grouped, DecisionV1) else grouped
        for candidate in with_context(text, first, previous, self.verbs):
            again = Said(candidate, self.read(request.request_id, candidate, request.index))
            if understood(again):
                return again
        return None

    def _count_of(self, request: BrainRequest, previous: Said) -> Said | None:
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
        counted = Said(candidate, self.read(request.request_id, candidate, request.index))
        same = (
            counted.decision.entities and counted.decision.entities[-1].filter == groups[0].filter
        )
        return counted if understood(counted) and same else None

    def _beyond_one_reading(
        self, request: BrainRequest, text: str, first: DecisionV1
    ) -> Said | None:
        """What the sentence reader alone would get wrong (see `brain.reports`)."""
        sourced = self._without_source(request, text, first)
        if sourced is not None:
            if sourced.decision.clarification is None:
                return sourced
            first = sourced.decision
        beyond = reports.beyond_words(text, request.index)
        if beyond:  # whatever was read near it: no tool reaches these
            return Said(text, reports.beyond_reach(first, beyond))
        if reports.counts_nothing_named(text, first):
            return Said(text, reports.count_question(first))
        if reports.is_problem_report(text, first):
            return self._problem(request, text, first)
        return sourced  # the question of the reading without the source address, if any

    def _without_source(self, request: BrainRequest, text: str, first: DecisionV1) -> Said | None:
        """Read without the address traffic comes from, saying nothing was narrowed to it."""
        found = reports.source_address(text, first)
        if found is None:
            return None
        rest, address = found
        said = f"{rest.rstrip('.?!')} (from every source: not narrowed to {address})"
        return Said(said, self.read(request.request_id, rest, request.index))

    def _problem(self, request: BrainRequest, text: str, first: DecisionV1) -> Said:
        """A problem reported about named hosts is their read-only health check, said back;
        one naming no host is asked where."""
        hosts = reports.reported_hosts(first)
        if hosts:
            check = f"run a health check on {' '.join(hosts)}"
            reading = self.read(request.request_id, check, request.index)
            if reading.clarification is None and reading.intent is not None:
                return Said(check, reading)
        return Said(text, reports.where_question(text, first, request.index))


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


def _unsure_hosts(text: str, first: DecisionV1, previous: Said | None) -> DecisionV1 | None:
    """'reboot the older one', 'reboot everything there' with no place before it, 'reboot
    both' after a turn about one host: which hosts is a choice the conversation does not
    make; asked, never guessed."""
    if previous is not None and _BOTH.search(text) and len(previous.decision.targets) != 2:
        # 'reboot both' after a turn about one host: which two is not ours to guess.
        question = (
            f"'both' in '{text.strip(' ?.!')}': the request before was about "
            f"{', '.join(previous.decision.targets) or 'no named host'}. Name the two hosts."
        )
        return questioned(first, "no_target", question)
    named_before = previous is not None and (
        previous.decision.targets or previous.decision.entities
    )
    unsure = _WHICH_ONE.search(text) or (None if named_before else _THERE.search(text))
    if unsure is None:
        return None
    question = (
        f"'{unsure.group(0)}' in '{text.strip(' ?.!')}': I can't tell which hosts you mean "
        "from the conversation. Name them."
    )
    return questioned(first, "no_target", question)


def _declared_hosts(decision: DecisionV1, index: InventoryIndex) -> list[str]:
    """The assets declared to run the service or application a request names but gives no
    host for; only declared services choose where a change runs."""
    clarification = decision.clarification
    if clarification is None or clarification.reason != "no_target" or decision.intent is None:
        return []
    named = decision.inputs.get("service") or decision.inputs.get("app")
    return sorted(index.services.get(named.lower(), [])) if named else []
