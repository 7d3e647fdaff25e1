"""Requests that are not a task for one tool: a problem reported ("catalog-service is acting
up"), things no tool reaches ("containers", "pods"), a count of nothing named ("how many are
there?"), an address traffic comes from ("failed logins from IP 192.0.2.7"). Each is asked
about or said back by name; none is read as whatever tool it is nearest to."""

from __future__ import annotations

import re

from opsconductor.brain import lexicon
from opsconductor.brain.index import InventoryIndex
from opsconductor.schemas.decision import Clarification, DecisionV1, EntityType

# A problem reported rather than a task asked: "is down", "acting up", "really slow".
_SYMPTOM = re.compile(
    r"\b(down|slow|sluggish|failing|fails|failed|broken|acting up|not working|doesn'?t work|"
    r"wrong|errors?|timing out|timeouts?|time ?out|crash(ed|es|ing)?|hung|hanging|unresponsive|"
    r"issues?|problems?|outage|degraded|misbehaving|flaky)\b",
    re.IGNORECASE,
)
# A problem report is asked about only when nothing more precise was said back (an unknown
# host, an ambiguous name, a change no tool makes keep their own question).
_SYMPTOM_REASONS = frozenset({"out_of_scope", "not_understood", "no_target"})
_WHOLE_INVENTORY = frozenset({"everything", "inventory", "total", "all", "fleet", "estate"})
_SOURCE_ADDRESS = re.compile(
    r"\b(?:attempts?|connections?|requests?|traffic|logins?|scans?|hits)\s+"
    r"(?P<source>from\s+(?:ip\s+|address\s+)?(?P<address>\d{1,3}(?:\.\d{1,3}){3}))\b",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset({"main", "primary", "secondary", "prod", "production", "whole", "entire"})
_SERVICE_NAME = re.compile(
    r"\b[a-z0-9]+(?:-[a-z0-9]+)*-(?:service|svc|api|db|app|worker|daemon|server)\b", re.IGNORECASE
)


def is_problem_report(text: str, decision: DecisionV1) -> bool:
    """A problem reported, with no task the sentence reader could make of it."""
    reason = decision.clarification.reason if decision.clarification else None
    return decision.intent is None and reason in _SYMPTOM_REASONS and bool(_SYMPTOM.search(text))


def reported_hosts(decision: DecisionV1) -> list[str]:
    """The assets a problem report names ('web-01 is slow')."""
    return [e.value for e in decision.entities if e.type is EntityType.ASSET]


def where_question(text: str, decision: DecisionV1, index: InventoryIndex) -> DecisionV1:
    """The question for a problem report that names no host: where (with the hosts declared
    for a service it names), and what to check there."""
    service = _named_service(text, decision)
    declared = sorted(index.services.get(service.lower(), [])) if service else []
    if service and declared:
        question = f"{service} is declared on {', '.join(declared)}. Which host is affected, "
    elif service:
        question = f"No asset in the inventory declares {service}. Which host runs it, "
    else:
        question = "Which host is affected, "
    question += (
        "and what should I check there: the service's status or logs, or the host's CPU, "
        "memory, disk and uptime (a health check)?"
    )
    return _asked(decision, Clarification(reason="no_target", question=question, options=declared))


def count_question(decision: DecisionV1) -> DecisionV1:
    question = (
        "How many of what? Say which assets, e.g. 'how many Linux servers in production?' "
        "or 'how many assets do we have?'."
    )
    return _asked(decision, Clarification(reason="not_understood", question=question))


def source_address(text: str, decision: DecisionV1) -> tuple[str, str] | None:
    """(the request without it, the address) when the unknown host the reader stopped at is
    where traffic comes from ('attempts from IP 192.0.2.7'), not a host of ours."""
    source = _SOURCE_ADDRESS.search(text)
    about = decision.clarification.about if decision.clarification else None
    if source is None or about is None or about != source.group("address"):
        return None
    rest = text[: source.start("source")] + text[source.end("source") :]
    return " ".join(rest.split()), about


def counts_nothing_named(text: str, decision: DecisionV1) -> bool:
    """'How many are there?': a count that names no kind of asset and no group, on its own."""
    if decision.intent is None or decision.intent.action != "count_assets":
        return False
    if any(e.type in {EntityType.GROUP, EntityType.ASSET} for e in decision.entities):
        return False
    words = {w.strip("?.,!").lower() for w in text.split()}
    return not words & (set(lexicon.DEVICE_WORDS) | _WHOLE_INVENTORY)


def beyond_words(text: str, index: InventoryIndex) -> list[str]:
    """The words of `text` naming what no tool reaches ('containers', 'pods'), except where
    one is the inventory's own tag for hosts ('kubernetes nodes', 'tagged cloud')."""
    words = [w.strip("?.,!") for w in text.lower().split()]
    found = []
    for position, word in enumerate(words):
        if word not in lexicon.OUT_OF_REACH_WORDS:
            continue
        before = words[position - 1] if position else ""
        after = words[position + 1] if position + 1 < len(words) else ""
        tagged = before in lexicon.TAG_CUES or after in lexicon.DEVICE_WORDS
        if not (tagged and (word in index.tags or word in index.locations)):
            found.append(word)
    return sorted(set(found))


def beyond_reach(first: DecisionV1, words: list[str]) -> DecisionV1:
    quoted = ", ".join(f"'{w}'" for w in words)
    question = (
        f"I have no tools for {quoted}: I work on the hosts of the inventory and their "
        "services, processes, files, disk, memory and CPU. Ask about one of those instead."
    )
    clarification = Clarification(reason="out_of_scope", question=question)
    return first.model_copy(
        update={"clarification": clarification, "kind": "clarification", "intent": None}
    )


def _named_service(text: str, decision: DecisionV1) -> str | None:
    named = next(
        (decision.inputs[k] for k in ("service", "app", "database") if decision.inputs.get(k)),
        None,
    )
    if named and named.lower() not in _NOT_NAMES:
        return str(named)
    match = _SERVICE_NAME.search(text)
    if match:
        return match.group(0)
    # "cache-redis", "logs-mongodb": a name ending in a service the lexicon knows.
    words: list[str] = re.findall(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b", text.lower())
    return next((w for w in words if w.rsplit("-", 1)[1] in lexicon.KNOWN_SERVICES), None)


def _asked(decision: DecisionV1, clarification: Clarification) -> DecisionV1:
    return decision.model_copy(update={"clarification": clarification, "kind": "clarification"})
