"""The embedded brain: deterministic, explainable, no network and no model."""

from __future__ import annotations

import itertools
import re

from opsconductor.brain import clarify, inclusions, lexicon
from opsconductor.brain.base import BrainRequest
from opsconductor.brain.context import ContextReader, clause_verbs
from opsconductor.brain.entities import Extraction, extract
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.intents import (
    PLACEHOLDERS,
    IntentMatcher,
    IntentScore,
    canonical_pairs,
)
from opsconductor.brain.slots import chosen_by_rank
from opsconductor.brain.splits import split_asked, take_split
from opsconductor.brain.tokens import Token, TokenKind
from opsconductor.brain.vocabulary import Vocabulary
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.connectors.inventory import BREAKDOWN, InventoryQuery
from opsconductor.kinds.inventory import InventoryTool
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.decision import Clarification, DecisionV1, Entity, EntityType, Intent

MIN_SCORE = 0.34  # below this no example is close enough to call the request understood
MIN_CONFIDENCE = 0.45  # score weighed by how much of the request the vocabulary covers
# A change over this many hosts at once needs a second person even when each change is small.
FLEET_CHANGE_SIZE = 5
# Inventory answers stated as facts: every word of the request must be one they can use.
_FACTS = frozenset({InventoryQuery.COUNT, InventoryQuery.LIST})
_ANSWERS = frozenset(InventoryQuery)
_CONDITIONS = frozenset(
    {"if", "unless", "when", "whenever", "whether", "provided", "providing", "assuming"}
)
# "approve it", "yes do it": an approval is never given in a request (see clarify).
_APPROVING = frozenset(
    {"approve", "approved", "approving", "approval", "confirm", "confirmed", "yes", "yep"}
)


class RulesBrain:
    """Names first (against the inventory), then the verb and object (against the catalog)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.matcher = IntentMatcher(catalog)
        self.vocabulary = Vocabulary(
            (ex for t in catalog.tools.values() for ex in t.examples),
            ((name, spec) for t in catalog.tools.values() for name, spec in t.parameters.items()),
        )
        self._fact_words: set[str] = set(PLACEHOLDERS & {"GROUP"}) | set(lexicon.MANNER_WORDS)
        for tool in catalog.tools.values():
            if _query(tool) is not None:
                self._fact_words |= self.matcher.words_by_intent[(tool.category, tool.action)]
        self._details = next(
            (t for t in catalog.tools.values() if _query(t) is InventoryQuery.DETAILS), None
        )

        examples = (e for t in catalog.tools.values() for e in t.examples)
        self.context = ContextReader(self.read, clause_verbs(examples), self._changes)

    async def understand(self, request: BrainRequest) -> DecisionV1:
        """Clause by clause, with the conversation's context (see `brain.context`)."""
        return self.context.understand(request)

    def read(self, request_id: str, text: str, index: InventoryIndex) -> DecisionV1:
        """One sentence on its own."""
        found = extract(text, index, self.vocabulary)
        _changes_as_nouns(found.tokens)
        asked_split = split_asked(text)
        if asked_split is not None:
            take_split(found.tokens, asked_split[0])
        included = inclusions.take_inclusions(found.tokens)
        pairs = canonical_pairs(found.tokens)
        words = [word for word, _ in pairs]
        ranking = self._eligible(self.matcher.rank(words), text)
        reasons = list(found.reasons)
        best = self._best(ranking, words, reasons)
        if best is None and included:
            # "analyze performance including top processes and memory": the list is all
            # there is to go on.
            inclusions.release(included)
            included = []
            pairs = canonical_pairs(found.tokens)
            words = [word for word, _ in pairs]
            ranking = self._eligible(self.matcher.rank(words), text)
            best = self._best(ranking, words, reasons)
        best = self._service_kept(best, ranking, found, words, reasons)
        best = self._details_when_named(best, found, reasons)
        best = self._beyond_the_record(best, ranking, pairs, words, reasons)
        tools = self._tools(best)
        # Counting or listing a group needs its filter, not its members: only tools that act
        # on assets one by one get the group's members as targets.
        targets = found.all_targets(index) if _needs_targets(tools) else found.targets
        clarification = self._clarify(found, best, pairs, targets, index, ranking, text)
        if clarification is None and (
            missing := inclusions.uncovered(included, tools, self.catalog)
        ):
            clarification = inclusions.not_covered(missing, tools, self.catalog)
        entities = found.entities
        split = self._split(best, pairs, tools, text)
        if clarification is None and split is not None and split[1] is not None:
            found.inputs[BREAKDOWN] = split[1]
            reasons.append(f"'{split[0]}': the count split by {split[1]}")
        if clarification is None and any(_query(t) in _FACTS for t in tools):
            entities, clarification = _service_in_group(found, index)
        return DecisionV1(
            request_id=request_id,
            text=text,
            kind=self._kind(clarification, tools),
            intent=Intent(category=best.category, action=best.action) if best else None,
            entities=entities,
            targets=targets,
            inputs=found.inputs,
            risk_level=self._risk(tools, targets),
            confidence=self._confidence(best, words),
            clarification=clarification,
            reasons=reasons,
        )

    def _best(
        self, ranking: list[IntentScore], words: list[str], reasons: list[str]
    ) -> IntentScore | None:
        best = ranking[0] if ranking and ranking[0].score >= MIN_SCORE else None
        if best is not None and not self._plausible(best, words):
            reasons.append(
                f"best intent {best.category}.{best.action} rejected: too little matched"
            )
            return None
        if best is not None:
            reasons.append(
                f"intent {best.category}.{best.action}: matched {', '.join(best.shared)} "
                f"with example '{best.example}' (score {best.score:.2f})"
            )
        return best

    def _service_kept(
        self,
        best: IntentScore | None,
        ranking: list[IntentScore],
        found: Extraction,
        words: list[str],
        reasons: list[str],
    ) -> IntentScore | None:
        """'restart nginx on the web-01 server': a change that names a service acts on that
        service; a tool that cannot take it (a reboot) would act on the whole host instead."""
        tools = self._tools(best)
        if best is None or "service" not in found.inputs or all(t.read_only for t in tools):
            return best
        if any("service" in t.parameters for t in tools):
            return best
        for score in ranking:
            candidates = self._tools(score)
            takes = candidates and all("service" in t.parameters for t in candidates)
            if takes and score.score >= MIN_SCORE and self._plausible(score, words):
                reasons.append(f"'{found.inputs['service']}' is a service: {score.action}")
                return score
        return best

    def _details_when_named(
        self, best: IntentScore | None, found: Extraction, reasons: list[str]
    ) -> IntentScore | None:
        """'which server is 10.1.2.3', 'show web-01': a count or list of assets the request
        names one by one is the record of those assets, not the whole inventory."""
        if best is None or self._details is None or found.group is not None:
            return best
        if not found.targets or not any(_query(t) in _FACTS for t in self._tools(best)):
            return best
        reasons.append("named assets and no group: their inventory records")
        details = self._details
        return IntentScore(details.category, details.action, best.score, best.example, best.shared)

    def _beyond_the_record(
        self,
        best: IntentScore | None,
        ranking: list[IntentScore],
        pairs: list[tuple[str, Token]],
        words: list[str],
        reasons: list[str],
    ) -> IntentScore | None:
        """'show CPU information on web-01': words the inventory cannot answer make the next
        intent that runs on the host the reading, when one is close enough."""
        if best is None or not self._unusable(best, pairs):
            return best
        for score in ranking:
            tools = self._tools(score)
            if score.score < MIN_SCORE or not tools or any(not t.runs_on_hosts for t in tools):
                continue
            if self._plausible(score, words):
                reasons.append(f"the inventory cannot answer it: {score.category}.{score.action}")
                return score
        return best

    def _unusable(self, best: IntentScore, pairs: list[tuple[str, Token]]) -> list[str]:
        """Words of the request an inventory answer could not take into account."""
        if not any(_query(t) in _ANSWERS for t in self._tools(best)):
            return []
        unusable = [token.text for word, token in pairs if word not in self._fact_words]
        return list(dict.fromkeys(unusable))

    def _eligible(self, ranking: list[IntentScore], text: str) -> list[IntentScore]:
        """Drop changes when the request forbids them or makes them conditional: OpsConductor
        checks first and lets the person decide, rather than acting on an 'if'."""
        if not _read_only_request(text):
            return ranking
        return [s for s in ranking if all(t.read_only for t in self._tools(s))]

    def _plausible(self, best: IntentScore, words: list[str]) -> bool:
        """Guard against one generic word carrying a whole request: most of what it says must
        be understood, and a change needs its own verb in the request."""
        if self._confidence(best, words) < MIN_CONFIDENCE:
            return False
        changes = any(not t.read_only for t in self._tools(best))
        return not changes or bool(set(best.shared) & lexicon.CHANGE_VERBS)

    def _changes(self, decision: DecisionV1) -> bool:
        intent = decision.intent
        tools = self.catalog.for_intent(intent.category, intent.action) if intent else []
        return any(not t.read_only for t in tools)

    def _tools(self, score: IntentScore | None) -> list[ToolSpec]:
        if score is None:
            return []
        return self.catalog.for_intent(score.category, score.action)

    def _clarify(
        self,
        found: Extraction,
        best: IntentScore | None,
        pairs: list[tuple[str, Token]],
        targets: list[str],
        index: InventoryIndex,
        ranking: list[IntentScore],
        text: str,
    ) -> Clarification | None:
        if found.unknown_hosts:
            return clarify.unknown_hosts(found.unknown_hosts, index)
        if found.ambiguous:
            word, names = next(iter(found.ambiguous.items()))
            return clarify.ambiguous_handle(word, names)
        if best is None and any(t.norm in _APPROVING for t in found.tokens):
            return clarify.approvals_elsewhere()
        if best is None:
            return self._nothing_matched(pairs, ranking, text)
        if found.unread:
            return clarify.unread(found.unread)
        if found.mismatched and found.described is not None:
            return clarify.mismatched(found.mismatched, found.described)
        tools = self._tools(best)
        split = self._split(best, pairs, tools, text)
        if split is not None and split[1] is None:
            counting = any(word == "count" for word, _ in pairs)
            return clarify.breakdown_asked(split[0], "count_assets" if counting else best.action)
        return (
            self._what_to_change(found, tools)
            or self._unserved_change(best, pairs, tools, text)
            or self._unusable_words(best, pairs)
            or self._unchosen_words(found, best, pairs, tools)
            or self._targets_question(found, best, tools, targets, index)
        )

    def _split(
        self,
        best: IntentScore | None,
        pairs: list[tuple[str, Token]],
        tools: list[ToolSpec],
        text: str,
    ) -> tuple[str, str | None] | None:
        """What a count is split by ('in each environment'): (words, field), the field None
        when the chosen tool cannot split by it; None when no split is asked for."""
        counting = any(word == "count" for word, _ in pairs)
        if best is None or not (counting or any(_query(t) in _FACTS for t in tools)):
            return None
        split = split_asked(text)
        if split is None:
            return None
        takes = any(BREAKDOWN in t.parameters for t in tools) and best.action == "count_assets"
        return split if takes else (split[0], None)

    def _nothing_matched(
        self, pairs: list[tuple[str, Token]], ranking: list[IntentScore], text: str
    ) -> Clarification:
        """No intent: say whether the change is ours and its object is not, or what we have."""
        verbs = [token.text for word, token in pairs if word in lexicon.CHANGE_VERBS]
        unknown = [
            t.text
            for w, t in pairs
            if w not in PLACEHOLDERS and not self.matcher.known(w) and t.norm not in self.vocabulary
        ]
        top = ranking[0] if ranking else None
        if verbs and top and set(top.shared) & lexicon.CHANGE_VERBS:
            # 'reboot the domain controllers': the change is ours, its object is not known.
            object_words = _object_of(pairs, verbs[0], unknown)
            if object_words:
                return clarify.unknown_object(verbs[0], object_words)
        if verbs and not _read_only_request(text):
            return clarify.no_tool_for_change(verbs, None)
        first = text.split()[0].lower() if text.split() else ""
        if verbs and (first in lexicon.QUESTION_OPENERS or _about_a_change(text)):
            return clarify.asked_about_a_change(verbs[0])  # 'should I reboot web-01?'
        near = [(s.category, s.action) for s in ranking[:3] if s.score > 0.15]
        options = clarify.tool_catalog_summaries(self.catalog, near)
        meant = {w: m for w in unknown if (m := self.vocabulary.nearest(w.lower()))}
        return clarify.out_of_scope(options, list(dict.fromkeys(unknown)), meant)

    @staticmethod
    def _what_to_change(found: Extraction, tools: list[ToolSpec]) -> Clarification | None:
        """A change acts on what the person chose, never on one of several ('web-01 or
        web-02') or on one a rank picks ('the biggest process')."""
        if all(t.read_only for t in tools):
            return None
        either = _hosts_either_or(found.tokens)
        if len(either) > 1:
            return clarify.either_host(either)
        ranked = chosen_by_rank(found.tokens)
        return clarify.chosen_by_rank(ranked) if ranked is not None else None

    def _unserved_change(
        self,
        best: IntentScore,
        pairs: list[tuple[str, Token]],
        tools: list[ToolSpec],
        text: str,
    ) -> Clarification | None:
        """A request that asks for a change is never answered by a tool that only reads."""
        verbs = [token.text for word, token in pairs if word in lexicon.CHANGE_VERBS]
        reads = {"show", "check", "status", "count"} & {word for word, _ in pairs}
        if verbs and not reads and _about_a_change(text):
            return clarify.asked_about_a_change(verbs[0])  # 'no need to restart nginx'
        if _read_only_request(text) or not all(t.read_only for t in tools):
            return None
        if not verbs:
            return None
        return clarify.no_tool_for_change(verbs, tools[0] if tools else None)

    def _unusable_words(
        self, best: IntentScore, pairs: list[tuple[str, Token]]
    ) -> Clarification | None:
        unusable = self._unusable(best, pairs)
        return clarify.unknown_words(unusable, best.action) if unusable else None

    def _unchosen_words(
        self,
        found: Extraction,
        best: IntentScore,
        pairs: list[tuple[str, Token]],
        tools: list[ToolSpec],
    ) -> Clarification | None:
        """'reboot servers up more than 100 days', 'reboot the healthy servers': a change on a
        group may use no word that its reading leaves aside, or it would touch the whole group."""
        if found.group is None or all(t.read_only for t in tools):
            return None
        known = self.matcher.words_by_intent[(best.category, best.action)]
        unused = [
            token.text
            for word, token in pairs
            if word not in PLACEHOLDERS and word not in known and word not in best.shared
        ]
        return clarify.unchosen_words(list(dict.fromkeys(unused)), found.group) if unused else None

    def _targets_question(
        self,
        found: Extraction,
        best: IntentScore,
        tools: list[ToolSpec],
        targets: list[str],
        index: InventoryIndex,
    ) -> Clarification | None:
        needs_targets = _needs_targets(tools)
        if needs_targets and found.group is not None and found.group.uses_facts():
            return clarify.facts_choose_no_targets(found.group)
        if needs_targets and not targets:
            # 'reboot db01': a word with digits where a host goes is a host we do not know.
            unknown = [t.text for t in found.tokens if t.free and _numbered_name(t.norm)]
            if unknown:
                return clarify.unknown_hosts(unknown, index)
            return clarify.no_target(tools, best.action, found.group)
        if needs_targets and found.singular_group and len(targets) > 1:
            return clarify.several_match(targets)
        return None

    @staticmethod
    def _risk(tools: list[ToolSpec], targets: list[str]) -> RiskLevel:
        risk = RiskLevel.highest(*(t.risk for t in tools))
        changes = any(not t.read_only for t in tools)
        if changes and len(targets) >= FLEET_CHANGE_SIZE:
            risk = RiskLevel.highest(risk, RiskLevel.HIGH)
        return risk

    @staticmethod
    def _kind(clarification: Clarification | None, tools: list[ToolSpec]) -> str:
        if clarification is not None:
            return "clarification"
        if all(not t.runs_on_hosts for t in tools):
            return "information"
        return "action"

    def _confidence(self, best: IntentScore | None, words: list[str]) -> float:
        if best is None or not words:
            return 0.0
        # Words no example knows ("pods", "namespace") mean the request asks for more than
        # the matched intent covers.
        coverage = sum(1 for w in words if self.matcher.known(w)) / len(words)
        return round(min(1.0, best.score) * coverage, 3)


_WORD = re.compile(r"[a-z0-9']+")


def _about_a_change(text: str) -> bool:
    words = " " + " ".join(_WORD.findall(text.lower().replace(":", " : "))) + " "
    phrases = (*lexicon.ABOUT_A_CHANGE, *lexicon.REPORT_WORDS)
    return any(f" {phrase.replace(':', ' :')} " in words for phrase in phrases)


def _read_only_request(text: str) -> bool:
    lowered = text.lower()
    if any(p in lowered for p in lexicon.READ_ONLY_PHRASES) or _about_a_change(text):
        return True
    words = [w.strip(",.?!") for w in lowered.split()]
    if words and words[0] in lexicon.QUESTION_OPENERS | lexicon.READING_OPENERS:
        return True
    return any(w in _CONDITIONS for w in words)


def _object_of(pairs: list[tuple[str, Token]], verb: str, unknown: list[str]) -> list[str]:
    """The unknown words right after the change verb (articles skipped): its object."""
    texts = [token.text for _, token in pairs]
    start = texts.index(verb) + 1
    words: list[str] = []
    for text in texts[start:]:
        if text.lower() in {"the", "a", "an", "all", "our", "my"} and not words:
            continue
        if text not in unknown:
            break
        words.append(text)
    return words


# 'after the reboot of web-02', 'a restart of nginx': the change is what happened or is
# talked about, not an order; only a verb says to act.
_NOUN_MARKERS = frozenset({"the", "a", "an", "last", "recent", "previous", "that", "this", "its"})


_LAUNCHERS = frozenset({"do", "perform", "run", "start", "trigger", "initiate", "execute"})


def _changes_as_nouns(tokens: list[Token]) -> None:
    """Unless a verb orders it ('do a reboot of web-01', 'start the deploy')."""
    for position, (before, token) in enumerate(itertools.pairwise(tokens)):
        concept = lexicon.SYNONYMS.get(token.norm, token.norm)
        ordered = any(t.lower in _LAUNCHERS for t in tokens[:position])
        noun = token.free and concept in lexicon.CHANGE_VERBS and before.norm in _NOUN_MARKERS
        if noun and not ordered:
            token.norm = f"{token.norm}-event"


def _numbered_name(word: str) -> bool:
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word) and len(word) > 2


def _hosts_either_or(tokens: list[Token]) -> list[str]:
    """The assets named on either side of an 'or' ('web-01 or web-02'), in order."""
    named: list[str] = []
    for position, token in enumerate(tokens):
        if token.norm != "or" or not 0 < position < len(tokens) - 1:
            continue
        if not (tokens[position - 1].kind is tokens[position + 1].kind is TokenKind.ASSET):
            continue
        start = position - 1  # 'web-01, web-02 or app-01': the whole list
        while start > 0 and tokens[start - 1].kind is TokenKind.ASSET:
            start -= 1
        for token in (*tokens[start:position], tokens[position + 1]):
            if token.value not in named:
                named.append(token.value)
    return named


def _needs_targets(tools: list[ToolSpec]) -> bool:
    return any(t.needs_targets for t in tools)


def _service_in_group(
    found: Extraction, index: InventoryIndex
) -> tuple[list[Entity], Clarification | None]:
    """'where does billing-api run?', 'how many billing-api hosts': a service a count or list
    names narrows its group to the assets declared to run it, or is named back; never left
    out of the count."""
    named = found.inputs.get("service") or found.inputs.get("app")
    groups = [e for e in found.entities if e.type is EntityType.GROUP]
    if not named or any(g.filter and {"service", "running"} & set(g.filter) for g in groups):
        return found.entities, None
    service = named.lower()
    # Declared first: only when no asset declares it do collected facts say where it runs.
    field = "service" if service in index.services else "running"
    if service not in index.services and service not in index.running:
        question = (
            f"No asset in the inventory is declared to run '{named}', and no collected facts "
            "show it running, so I can't count or list its hosts. Declare it in the assets' "
            "'services', run `opsconductor assets discover`, or ask without it."
        )
        return found.entities, Clarification(reason="not_understood", question=question)
    others = [e for e in found.entities if e.type is not EntityType.GROUP]
    group = groups[0] if groups else None
    flt = {**(group.filter or {}), field: service} if group else {field: service}
    value = f"{group.value} running {service}" if group else f"assets running {service}"
    return [*others, Entity(type=EntityType.GROUP, value=value, filter=flt)], None


def _query(tool: ToolSpec) -> InventoryQuery | None:
    """What an inventory tool asks; None for a tool of any other kind."""
    return tool.query if isinstance(tool, InventoryTool) else None
