"""The inventory connector: read-only queries of the asset table, answered as data and words.
Like the host connectors it belongs to one run, and reads through that run's session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.catalog.parsers import Parsed
from opsconductor.inventory import choices, repository
from opsconductor.inventory.models import (
    Asset,
    AssetFilter,
    device_noun,
    fact_phrases,
    os_label,
)
from opsconductor.inventory.repository import FactSelection

T = TypeVar("T")

LIST_LIMIT = 200


def kind_label(os_type: str, device_type: str, count: int) -> str:
    """'6 Windows workstations', '1 Linux server', '2 switches'."""
    noun = device_noun(device_type, count)
    if os_type in {"other", "network"}:
        return f"{count} {noun}"
    return f"{count} {os_label(os_type)} {noun}"


def group_phrase(flt: AssetFilter, count: int | None = None) -> str:
    """What a filter selects, every part of it, in words: '7 Linux servers in production',
    '1 Linux asset in dr', '3 switches', 'assets tagged web with 'app' in the name'. Without a
    count the noun is plural ('Windows servers in development')."""
    device = flt.device_type.value if flt.device_type else None
    words = [] if count is None else ["no" if count == 0 else str(count)]
    if flt.os_type and flt.os_type.value not in {"other", "network"}:
        words.append(os_label(flt.os_type))
    words.append(device_noun(device, count) if device else ("asset" if count == 1 else "assets"))
    words += _placed(flt)
    if flt.tags:
        words.append("tagged " + " and ".join(flt.tags))
    if flt.text:
        words.append(f"with '{flt.text}' in the name")
    if flt.hostname_text:
        words.append(f"with '{flt.hostname_text}' in the hostname")
    if flt.ip_prefix:
        words.append(f"with IPs in {flt.ip_prefix}*")
    if flt.os_type and flt.os_type.value in {"other", "network"}:
        words.append(f"with OS type {flt.os_type.value}")
    words += choices.phrases(flt.either, flt.exclude)
    return " ".join([*words, *fact_phrases(flt)])


def _placed(flt: AssetFilter) -> list[str]:
    """Where the group stands and who has it: 'in production', 'at dr', 'running nginx'."""
    return [
        phrase
        for value, phrase in [
            (flt.environment, f"in {flt.environment}"),
            (flt.location, f"at {flt.location}"),
            (flt.service, f"running {flt.service}"),
            (flt.owner, f"owned by {flt.owner}"),
            (flt.criticality, f"of {flt.criticality} criticality"),
        ]
        if value
    ]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# The input that splits a count by one recorded field ('in each environment').
BREAKDOWN = "by"


def filter_from_inputs(inputs: dict[str, Any]) -> AssetFilter:
    values = {k: v for k, v in inputs.items() if k != BREAKDOWN}
    for listed in ("tags", "either", "exclude"):  # comma-separated in the string inputs
        if listed in values:
            values[listed] = tuple(t for t in str(values[listed]).split(",") if t)
    return AssetFilter.model_validate(values)


class InventoryQuery(StrEnum):
    """What an inventory tool asks (its `query:`)."""

    COUNT = "count_assets"
    LIST = "list_assets"
    DETAILS = "asset_details"


class SessionReads(Protocol):
    """Runs a read in the session of the run it belongs to (see `Transactions.read`)."""

    def __call__(self, work: Callable[[AsyncSession], Awaitable[T]]) -> Awaitable[T]: ...


class InventoryConnector:
    """Answers a query with the run's reads, so a plan that only asks the inventory records
    its answer in the same transaction as its claim."""

    def __init__(self, reads: SessionReads) -> None:
        self.reads = reads

    async def query(
        self, query: InventoryQuery, inputs: dict[str, Any], targets: list[str]
    ) -> Parsed:
        if query is InventoryQuery.COUNT:
            flt = filter_from_inputs(inputs)
            field = inputs.get(BREAKDOWN)
            if field:
                return await self.reads(lambda session: _count_by(session, flt, str(field)))
            return await self.reads(lambda session: _count(session, flt))
        if query is InventoryQuery.LIST:
            flt = filter_from_inputs(inputs)
            return await self.reads(lambda session: _list(session, flt))
        return await self.reads(lambda session: _details(session, targets))


async def _count(session: AsyncSession, flt: AssetFilter) -> Parsed:
    if flt.uses_facts():
        return _counted_by_facts(flt, await repository.select_by_facts(session, flt))
    breakdown = await repository.count_assets(session, flt)
    kinds = [kind_label(os, dev, n) for (os, dev), n in breakdown.by_kind.items()]
    data = {
        "total": breakdown.total,
        "filter": flt.model_dump(mode="json", exclude_defaults=True),
        "by_kind": [
            {"os_type": os, "device_type": dev, "count": n}
            for (os, dev), n in breakdown.by_kind.items()
        ],
    }
    if flt.is_empty():
        noun = "asset" if breakdown.total == 1 else "assets"
        summary = f"You have {breakdown.total} {noun} in the system"
    else:
        summary = f"You have {group_phrase(flt, breakdown.total)}"
    if kinds and not (len(kinds) == 1 and not flt.is_empty()):
        summary += ": " + _join(kinds)
    return Parsed(data=data, summary=summary + ".")


async def _count_by(session: AsyncSession, flt: AssetFilter, field: str) -> Parsed:
    """'16 servers: 9 in production, 4 in staging, …': every asset of the group counted once,
    those with no value for the field said as such, never left out of the total."""
    counts = await repository.count_by(session, flt, field)
    total = sum(counts.values())
    noun = field.replace("_", " ")
    parts = [
        f"{n} {_value_phrase(field, value)}" if value else f"{n} with no {noun} recorded"
        for value, n in counts.items()
    ]
    group = "asset" if total == 1 else "assets"
    head = (
        f"You have {total} {group} in the system"
        if flt.is_empty()
        else f"You have {group_phrase(flt, total)}"
    )
    summary = head + (f", by {noun}: " + _join(parts) if parts else "") + "."
    data = {
        "total": total,
        "filter": flt.model_dump(mode="json", exclude_defaults=True),
        "by": field,
        "counts": [{field: value, "count": n} for value, n in counts.items()],
    }
    return Parsed(data=data, summary=summary)


def _value_phrase(field: str, value: str) -> str:
    if field in {"environment", "location"}:
        return f"in {value}"
    if field == "owner":
        return f"owned by {value}"
    return f"of {field} {value}"


async def _list(session: AsyncSession, flt: AssetFilter) -> Parsed:
    if flt.uses_facts():
        return _listed_by_facts(flt, await repository.select_by_facts(session, flt))
    assets = await repository.list_summaries(session, flt, limit=LIST_LIMIT + 1)
    rows = assets[:LIST_LIMIT]
    if not assets:
        summary = f"The inventory has {group_phrase(flt, 0)}."
        return Parsed(data={"assets": [], "total": 0}, summary=summary)
    names = ", ".join(_labelled(row["name"], row["ip_address"]) for row in rows[:10])
    more = len(assets) - 10 if len(assets) <= LIST_LIMIT else None
    if len(assets) <= LIST_LIMIT:
        summary = f"{group_phrase(flt, len(rows))}: {names}"
    else:
        summary = f"More than {group_phrase(flt, LIST_LIMIT)}: {names}"
    if more and more > 0:
        summary += f" and {more} more"
    elif more is None:
        summary += " and more (narrow the filter to see all)"
    return Parsed(data={"assets": rows, "total": len(rows)}, summary=summary + ".")


async def _details(session: AsyncSession, targets: list[str]) -> Parsed:
    found = await repository.get_assets(session, targets)
    rows = [_row(found[name], full=True) for name in targets if name in found]
    lines = [_describe(found[name]) for name in targets if name in found]
    missing = [name for name in targets if name not in found]
    if missing:
        lines.append(f"Not in the inventory any more: {', '.join(missing)}.")
    return Parsed(data={"assets": rows}, summary=" ".join(lines))


def _label(asset: Asset) -> str:
    return _labelled(asset.name, asset.ip_address)


def _labelled(name: str, ip_address: str | None) -> str:
    return f"{name} ({ip_address})" if ip_address else name


def _row(asset: Asset, *, full: bool = False) -> dict[str, Any]:
    keys = None if full else set(repository.LISTED_FIELDS)
    return asset.model_dump(mode="json", include=keys)


def _describe(asset: Asset) -> str:
    """The whole record in one sentence, so a question about any field of it (OS, IP, owner,
    environment) is answered, and a field not recorded is said to be, never left out."""
    kind = asset.describe_kind() + (f" ({asset.os_version})" if asset.os_version else "")
    parts = [kind]
    if asset.hostname:
        parts.append(f"hostname {asset.hostname}")
    parts.append(f"IP {asset.ip_address}" if asset.ip_address else "no IP recorded")
    parts.append(f"environment {asset.environment or 'not set'}")
    parts.append(f"location {asset.location}" if asset.location else "location not recorded")
    if asset.services:
        parts.append("declared services " + ", ".join(asset.services))
    if asset.tags:
        parts.append("tags " + ", ".join(asset.tags))
    parts.append(f"owner {asset.owner}" if asset.owner else "owner not recorded")
    if asset.criticality:
        parts.append(f"criticality {asset.criticality}")
    return f"{asset.name}: " + ", ".join(parts) + "."


NO_FACTS_HINT = "run `opsconductor assets discover` to collect them"


def _counted_by_facts(flt: AssetFilter, found: FactSelection) -> Parsed:
    """'You have 3 Linux servers with at least 17 GB of memory (facts from 2 hours ago); 2
    more are unknown: …'. Assets whose facts cannot tell are counted apart, never as zero."""
    matched = len(found.matched)
    data = _fact_data(flt, found) | {"total": matched}
    if not found.matched and not found.not_matched and found.unknown:
        summary = f"I can't tell how many {group_phrase(flt)} there are: " + _unknown_words(
            found, alone=True
        )
        return Parsed(data=data, summary=summary + ".")
    summary = f"You have {group_phrase(flt, matched)}{_age(found)}"
    if found.unknown:
        summary += "; " + _unknown_words(found, alone=False)
    return Parsed(data=data, summary=summary + ".")


def _listed_by_facts(flt: AssetFilter, found: FactSelection) -> Parsed:
    shown = found.matched[:LIST_LIMIT]
    data = _fact_data(flt, found) | {"assets": [_row(a) for a in shown], "total": len(shown)}
    if not found.matched and not found.not_matched and found.unknown:
        summary = f"I can't tell which {group_phrase(flt)} there are: " + _unknown_words(
            found, alone=True
        )
        return Parsed(data=data, summary=summary + ".")
    if not shown:
        summary = f"The inventory has {group_phrase(flt, 0)}{_age(found)}"
    else:
        names = ", ".join(_label(a) for a in shown[:10])
        more = len(found.matched) - 10
        summary = f"{group_phrase(flt, len(found.matched))}{_age(found)}: {names}"
        summary += f" and {more} more" if more > 0 else ""
    if found.unknown:
        summary += "; " + _unknown_words(found, alone=False)
    return Parsed(data=data, summary=summary + ".")


def _fact_data(flt: AssetFilter, found: FactSelection) -> dict[str, Any]:
    return {
        "filter": flt.model_dump(mode="json", exclude_defaults=True),
        "matched": len(found.matched),
        "not_matched": len(found.not_matched),
        "unknown": len(found.unknown),
        "unknown_assets": [a.name for a in found.unknown[:LIST_LIMIT]],
        "without_facts": len(found.without_facts),
        "facts_collected_at": {
            "oldest": found.oldest.isoformat() if found.oldest else None,
            "newest": found.newest.isoformat() if found.newest else None,
        },
    }


def _unknown_words(found: FactSelection, *, alone: bool) -> str:
    """Why the unknown assets are unknown: never asked, or asked without that fact."""
    count, never = len(found.unknown), len(found.without_facts)
    if never == count:
        if alone:
            subject = "the one asset has" if count == 1 else f"none of the {count} assets has"
            return f"{subject} {'no ' if count == 1 else ''}facts yet: {NO_FACTS_HINT}"
        verb = "has" if count == 1 else "have"
        return f"{count} more {verb} no facts yet: {NO_FACTS_HINT}"
    subject = (
        f"{count} {'is' if count == 1 else 'are'}"
        if alone
        else f"{count} more {'is' if count == 1 else 'are'}"
    )
    return (
        f"{subject} unknown ({never} without facts, {count - never} whose facts do not say): "
        f"{NO_FACTS_HINT}"
    )


def _age(found: FactSelection) -> str:
    """' (facts from 2 hours ago)', ' (facts from 5 minutes to 3 days ago)'; '' with none."""
    if found.oldest is None or found.newest is None:
        return ""
    now = datetime.now(UTC)
    oldest, newest = _ago(now - found.oldest), _ago(now - found.newest)
    span = oldest if oldest == newest else f"{newest.removesuffix(' ago')} to {oldest}"
    return f" (facts from {span})"


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            amount = seconds // size
            return f"{amount} {unit}{'s' if amount != 1 else ''} ago"
    return "just now"
