"""The questions the embedded brain asks instead of guessing; each names what it could not
use, so the person can rephrase rather than wonder what was misread."""

from __future__ import annotations

from opsconductor.brain import lexicon
from opsconductor.brain.groups import Unread
from opsconductor.brain.index import InventoryIndex
from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.connectors.inventory import group_phrase
from opsconductor.inventory.models import AssetFilter, fact_phrases
from opsconductor.schemas.decision import Clarification

WHAT_FILTERS_DO = "I can select assets by OS, device type, environment, tag, name or IP range"
_NAME_A_TARGET = "Name an asset, hostname, IP or group."
_WHY = {
    "location": "I can't select assets by location yet: the inventory records no sites or "
    "data centres",
    "exclusion": (
        "I can't tell what to leave out: I exclude by environment, OS, device type, tag, "
        "location, declared service, owner or a named asset of the inventory"
    ),
    "distribution": "that word names more than one distribution, or one no host reports: "
    "say which (ubuntu, debian, rhel, centos, rocky, almalinux, fedora, sles, opensuse)",
    "owner": "I can't select assets by owner yet",
    "address range": "I select addresses by prefix ('in 10.1.1', '10.1.0.0/16'), not between "
    "two addresses",
    "inclusion": "the group is already narrowed to another value of that kind, so I can't tell "
    "whether you want both: say 'linux or windows servers', or ask for each",
    "the services they run": "no asset is declared to run that, and no collected facts show "
    "it running",
}


def unknown_hosts(words: list[str], index: InventoryIndex) -> Clarification:
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


def unread(items: list[Unread]) -> Clarification:
    """Qualifiers read as such that no filter can apply: each named, with why."""
    sentences = []
    for why, words in _by_reason(items).items():
        quoted = ", ".join(f"'{w}'" for w in words)
        if why == "unknown":
            sentences.append(
                f"I don't know what {quoted} means here, and leaving it out could change the "
                f"answer. {WHAT_FILTERS_DO}."
            )
        elif why.startswith("more than one"):
            sentences.append(
                f"I can filter on one value of each kind at a time, and {quoted} gives "
                f"{why}: ask for each separately."
            )
        else:
            reason = _WHY.get(why, why)
            sentences.append(f"{reason[0].upper()}{reason[1:]} ({quoted}).")
    return Clarification(reason="not_understood", question=" ".join(sentences))


def _by_reason(items: list[Unread]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for item in items:
        words = grouped.setdefault(item.why, [])
        if item.words not in words:
            words.append(item.words)
    return grouped


def unknown_words(words: list[str], action: str) -> Clarification:
    """A count or list would be stated as fact; words it cannot use would make it wrong."""
    quoted = ", ".join(f"'{w}'" for w in words)
    if action == "asset_details":
        question = (
            f"I can show what the inventory records of an asset (hostname, IP, OS, environment, "
            f"tags, owner), but {quoted} is not part of that record."
        )
    else:
        what = "count" if action == "count_assets" else "list"
        question = (
            f"I can {what} assets, but I don't know how to use {quoted} for that: "
            f"{WHAT_FILTERS_DO}."
        )
    return Clarification(reason="not_understood", question=question)


def breakdown_asked(words: str, action: str) -> Clarification:
    """A count or list split by a field it cannot split by: asked, never answered as one total."""
    what = "count" if action == "count_assets" else "list"
    return Clarification(
        reason="not_understood",
        question=(
            f"I can {what} assets split by environment, location, owner or criticality, but "
            f"not '{words}'. Ask for each value on its own, e.g. 'how many servers tagged web'."
            if what == "count"
            else f"I can list assets, but not '{words}'. Ask for a count split that way "
            "('how many servers in each environment'), or list each value on its own."
        ),
    )


def chosen_by_rank(words: str) -> Clarification:
    """'kill the biggest process': a change never picks its object by a rank it has not shown."""
    return Clarification(
        reason="missing_input",
        question=(
            f"Which is the '{words}' I would have to find out first, and I only change what "
            "you name. Look first (e.g. 'show the top processes on <host>'), then ask again "
            "with the one to act on."
        ),
    )


def unknown_object(verb: str, words: list[str]) -> Clarification:
    """A change we have a tool for, on something the inventory does not name."""
    quoted = f"'{' '.join(words)}'"
    return Clarification(
        reason="not_understood",
        question=(
            f"I know how to {verb.lower()}, but not what {quoted} stands for: it is no asset, "
            f"group or tag of the inventory. {WHAT_FILTERS_DO}, or name the hosts."
        ),
    )


def asked_about_a_change(verb: str) -> Clarification:
    """'should I reboot web-01?', 'has nginx been restarted?': a question about a change is
    never taken as the order to make it."""
    return Clarification(
        reason="not_understood",
        question=(
            f"That asks about a change ('{verb}') rather than for one, and I don't judge "
            "whether one is wise. I can show the state it depends on (e.g. 'check uptime on "
            "web-01', 'is nginx running on web-01'), or make the change if you ask for it."
        ),
    )


def either_host(names: list[str]) -> Clarification:
    """'restart nginx on web-01 or web-02': a change on one of them, which is not ours to pick."""
    return Clarification(
        reason="ambiguous",
        question=f"You said {', '.join(names[:-1])} or {names[-1]}: which one should I act on?",
        options=names,
    )


def unchosen_words(words: list[str], flt: AssetFilter) -> Clarification:
    """A change on a group: words that might narrow which hosts it touches, read as nothing,
    would widen it to the whole group."""
    quoted = ", ".join(f"'{w}'" for w in words)
    return Clarification(
        reason="not_understood",
        question=(
            f"I would run this on all {group_phrase(flt)}, but I don't know how to use {quoted} "
            f"to choose among them: {WHAT_FILTERS_DO}. Ask again without it, or name the hosts."
        ),
    )


def mismatched(names: list[str], flt: AssetFilter) -> Clarification:
    verb = "is" if len(names) == 1 else "are"
    return Clarification(
        reason="ambiguous",
        question=(
            f"{', '.join(names)} {verb} not among the {group_phrase(flt)}: which assets did "
            "you mean?"
        ),
        options=names,
    )


def facts_choose_no_targets(group: AssetFilter) -> Clarification:
    """Targets of a change come from the record: facts may be old, and a host without them
    would be left out of the change unseen."""
    facts = ", ".join(fact_phrases(group))
    return Clarification(
        reason="not_understood",
        question=(
            f"I choose the hosts a command runs on from the inventory record, not from collected "
            f"facts ({facts}): facts can be out of date and hosts without them would be missed. "
            "Ask me to list them first, then name the hosts, or use a group the inventory "
            "records (OS, environment, tag, declared service)."
        ),
    )


def no_target(tools: list[ToolSpec], action: str, group: AssetFilter | None) -> Clarification:
    question = target_question(tools, action)
    if group is not None:
        return Clarification(
            reason="no_target",
            question=f"The inventory has no {group_phrase(group)}. {question} {_NAME_A_TARGET}",
        )
    return Clarification(reason="no_target", question=f"{question} {_NAME_A_TARGET}")


def target_question(tools: list[ToolSpec], action: str) -> str:
    """The lexicon's question for the action, or one made of the tool's catalog summary."""
    if action in lexicon.TARGET_QUESTIONS:
        return lexicon.TARGET_QUESTIONS[action]
    summary = tools[0].summary.split(" (")[0].split(", ")[0].rstrip(".")
    return f"On which host should I {summary[0].lower()}{summary[1:]}?"


def no_tool_for_change(verbs: list[str], closest: ToolSpec | None) -> Clarification:
    quoted = ", ".join(f"'{v}'" for v in verbs)
    near = f" The closest tool I have only reads: {closest.summary.lower()}." if closest else ""
    return Clarification(
        reason="out_of_scope",
        question=f"I have no tool that makes the change you asked for ({quoted}).{near}",
    )


def approvals_elsewhere() -> Clarification:
    """An approval is a decision of its own, by id, never a request: a request cannot approve
    an earlier turn's plan, and a plan of this one is approved as it is shown."""
    return Clarification(
        reason="out_of_scope",
        question=(
            "Approvals are not given in a request, and never carry over from an earlier one: "
            "approve a pending plan by its id (`opsconductor approvals approve ID`, the "
            "Approvals page, or POST /api/v1/approvals/ID/approve), as someone allowed to."
        ),
    )


def out_of_scope(
    options: list[str], unknown: list[str], meant: dict[str, str] | None = None
) -> Clarification:
    """Nothing in the catalog matches; the words no tool's examples use are named, each with
    the known word it is one letter away from, if any (`meant`): offered, never assumed."""
    words = ", ".join(f"'{w}'" for w in unknown[:6])
    foreign = [w for w in unknown if w.lower() in lexicon.FOREIGN_FUNCTION_WORDS]
    if len(foreign) >= 2:
        return Clarification(
            reason="not_understood",
            question=(
                f"I read requests in English only, and {words} look like another language. "
                "Ask in English, e.g. 'check the status of postgresql on db-01'."
            ),
        )
    known = f" ({words}: no tool of mine knows {'it' if len(unknown) == 1 else 'them'})"
    hint = " Did you mean " + " or ".join(f"'{w}'" for w in meant.values()) + "?" if meant else ""
    return Clarification(
        reason="out_of_scope",
        question=(
            f"I can't map that to anything in my tool catalog{known if unknown else ''}.{hint} "
            "I can count and list assets, check disk, memory, CPU, uptime and services, read logs, "
            "manage services and processes, run health checks and deploy applications."
        ),
        options=options,
    )


def several_match(targets: list[str]) -> Clarification:
    return Clarification(
        reason="ambiguous",
        question=f"{len(targets)} assets match; which one did you mean?",
        options=targets[:10],
    )


def ambiguous_handle(word: str, names: list[str]) -> Clarification:
    return Clarification(
        reason="ambiguous",
        question=f"'{word}' names several assets: which one?",
        options=names,
        about=word,
    )


def tool_catalog_summaries(catalog: Catalog, intents: list[tuple[str, str]]) -> list[str]:
    return [catalog.for_intent(category, action)[0].summary for category, action in intents]
