"""The embedded brain: deterministic, explainable, no network and no model."""

from __future__ import annotations

from opsconductor.brain import lexicon
from opsconductor.brain.base import BrainRequest
from opsconductor.brain.context import ContextReader, clause_verbs
from opsconductor.brain.entities import Extraction, extract
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.intents import IntentMatcher, IntentScore, canonical_words
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.decision import Clarification, DecisionV1, Intent

MIN_SCORE = 0.34  # below this no example is close enough to call the request understood
MIN_CONFIDENCE = 0.45  # score weighed by how much of the request the vocabulary covers
CHANGE_VERBS = frozenset(
    {"restart", "stop", "start", "deploy", "reboot", "kill", "delete", "modify", "open", "close"}
)
# A change over this many hosts at once needs a second person even when each change is small.
FLEET_CHANGE_SIZE = 5


class RulesBrain:
    """Names first (against the inventory), then the verb and object (against the catalog)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.matcher = IntentMatcher(catalog)
        examples = (e for t in catalog.tools.values() for e in t.examples)
        self.context = ContextReader(self.read, clause_verbs(examples))

    async def understand(self, request: BrainRequest) -> DecisionV1:
        """Clause by clause, with the conversation's context (see `brain.context`)."""
        return self.context.understand(request)

    def read(self, request_id: str, text: str, index: InventoryIndex) -> DecisionV1:
        """One sentence on its own."""
        found = extract(text, index)
        words = canonical_words(found.tokens)
        ranking = self._eligible(self.matcher.rank(words), text)
        reasons = list(found.reasons)
        best = ranking[0] if ranking and ranking[0].score >= MIN_SCORE else None
        if best is not None and not self._plausible(best, words):
            reasons.append(
                f"best intent {best.category}.{best.action} rejected: too little matched"
            )
            best = None
        if best is not None:
            reasons.append(
                f"intent {best.category}.{best.action}: matched {', '.join(best.shared)} "
                f"with example '{best.example}' (score {best.score:.2f})"
            )
        tools = self._tools(best)
        # Counting or listing a group needs its filter, not its members: only tools that act
        # on assets one by one get the group's members as targets.
        targets = found.all_targets(index) if _needs_targets(tools) else found.targets
        clarification = self._clarify(found, best, targets, index, ranking)
        risk = self._risk(tools, targets)
        return DecisionV1(
            request_id=request_id,
            text=text,
            kind=self._kind(clarification, tools),
            intent=Intent(category=best.category, action=best.action) if best else None,
            entities=found.entities,
            targets=targets,
            inputs=found.inputs,
            risk_level=risk,
            confidence=self._confidence(best, words),
            clarification=clarification,
            reasons=reasons,
        )

    def _eligible(self, ranking: list[IntentScore], text: str) -> list[IntentScore]:
        """Drop changes when the request forbids them or makes them conditional: OpsConductor
        checks first and lets the person decide, rather than acting on an 'if'."""
        lowered = text.lower()
        read_only = any(p in lowered for p in lexicon.READ_ONLY_PHRASES)
        conditional = any(w in lowered.split() for w in ("if", "unless", "when"))
        if not (read_only or conditional):
            return ranking
        return [s for s in ranking if all(t.read_only for t in self._tools(s))]

    def _plausible(self, best: IntentScore, words: list[str]) -> bool:
        """Guard against one generic word carrying a whole request: most of what it says must
        be understood, and a change needs its own verb in the request."""
        if self._confidence(best, words) < MIN_CONFIDENCE:
            return False
        changes = any(not t.read_only for t in self._tools(best))
        return not changes or bool(set(best.shared) & CHANGE_VERBS)

    def _tools(self, score: IntentScore | None) -> list[ToolSpec]:
        if score is None:
            return []
        return self.catalog.for_intent(score.category, score.action)

    def _clarify(
        self,
        found: Extraction,
        best: IntentScore | None,
        targets: list[str],
        index: InventoryIndex,
        ranking: list[IntentScore],
    ) -> Clarification | None:
        if found.unknown_hosts:
            return _unknown_hosts(found.unknown_hosts, index)
        if found.ambiguous:
            word, names = next(iter(found.ambiguous.items()))
            return Clarification(
                reason="ambiguous",
                question=f"'{word}' names several assets: which one?",
                options=names,
                about=word,
            )
        if best is None:
            return _out_of_scope(ranking, self.catalog)
        needs_targets = _needs_targets(self._tools(best))
        if needs_targets and not targets:
            return self._no_target(found, best)
        if needs_targets and found.singular_group and len(targets) > 1:
            return Clarification(
                reason="ambiguous",
                question=f"{len(targets)} assets match; which one did you mean?",
                options=targets[:10],
            )
        return None

    def _no_target(self, found: Extraction, best: IntentScore) -> Clarification:
        action = best.action.replace("_", " ")
        if found.groups:
            described = ", ".join(g.describe() for g in found.groups)
            return Clarification(
                reason="no_target",
                question=f"No assets match {described}; which hosts should I {action} on?",
            )
        return Clarification(
            reason="no_target",
            question=f"Which host should I {action} on? Name an asset, hostname, IP or group.",
        )

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


def _needs_targets(tools: list[ToolSpec]) -> bool:
    return any(t.needs_targets for t in tools)


def _unknown_hosts(words: list[str], index: InventoryIndex) -> Clarification:
    quoted = ", ".join(f"'{w}'" for w in words)
    options: list[str] = []
    for word in words:
        options += [s for s in index.suggestions(word) if s not in options]
    hint = f" Did you mean {' or '.join(options)}?" if options else ""
    noun = "a host" if len(words) == 1 else "hosts"
    return Clarification(
        reason="unknown_host",
        question=f"I don't know {noun} called {quoted} in the inventory.{hint}",
        options=options,
        about=words[0] if len(words) == 1 else None,
    )


def _out_of_scope(ranking: list[IntentScore], catalog: Catalog) -> Clarification:
    near = [s for s in ranking[:3] if s.score > 0.15]
    options = [catalog.for_intent(s.category, s.action)[0].summary for s in near]
    return Clarification(
        reason="out_of_scope",
        question=(
            "I can't map that to anything in my tool catalog. I can count and list assets, "
            "check disk, memory, CPU, uptime and services, read logs, manage services and "
            "processes, run health checks and deploy applications."
        ),
        options=options,
    )
