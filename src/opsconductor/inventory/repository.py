"""Asset queries and writes against the store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from opsconductor.errors import AssetNotFound
from opsconductor.inventory import choices
from opsconductor.inventory.conditions import Verdict, fact_verdict, with_record
from opsconductor.inventory.models import Asset, AssetFilter, Connection
from opsconductor.store import revision
from opsconductor.store.tables import AssetFactRow, AssetRow

# Names asked for per `IN (...)`: bound, each is a parameter (SQLite takes at most 32,766 in one
# statement, PostgreSQL 32,767); inline, 2,000 names of up to 255 characters stay well within
# SQLite's 1 MB statement.
NAMES_PER_QUERY = 2_000


@dataclass(frozen=True)
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Breakdown:
    """How many assets, and how many of each kind (os type, device type)."""

    total: int
    by_kind: dict[tuple[str, str], int]


_ASSET_FIELDS = (
    "hostname",
    "ip_address",
    "os_type",
    "os_version",
    "device_type",
    "environment",
    "location",
    "tags",
    "services",
    "owner",
    "criticality",
    "description",
)


def asset_from_row(row: AssetRow) -> Asset:
    return Asset.model_validate(
        {
            "name": row.name,
            **{name: getattr(row, name) for name in _ASSET_FIELDS},
            "connection": Connection.model_validate(
                {
                    "protocol": row.connection_protocol or "ssh",
                    "port": row.connection_port,
                    "username": row.connection_username,
                    "credential": row.credential_name,
                }
            ),
        }
    )


def _row_values(asset: Asset) -> dict[str, object]:
    values = asset.model_dump(mode="json", exclude={"connection", "name"})
    values["connection_protocol"] = asset.connection.protocol.value
    values["connection_port"] = asset.connection.port
    values["connection_username"] = asset.connection.username
    values["credential_name"] = asset.connection.credential
    return values


async def _rows_named(
    session: AsyncSession, names: Sequence[str], *, inline: bool = False
) -> dict[str, AssetRow]:
    """The rows of these names, asked for NAMES_PER_QUERY at a time. `inline` writes the names
    into the SQL instead of binding them (only for validated asset names): PostgreSQL then
    plans each query for the table as it is now, where a generic plan cached on this connection
    while the table was small would compare every row with every name."""
    found: dict[str, AssetRow] = {}
    for start in range(0, len(names), NAMES_PER_QUERY):
        chunk = list(names[start : start + NAMES_PER_QUERY])
        values: BindParameter[str] = bindparam(
            "names", chunk, expanding=True, literal_execute=inline
        )
        for row in await session.scalars(select(AssetRow).where(AssetRow.name.in_(values))):
            found[row.name] = row
    return found


async def upsert_assets(session: AsyncSession, assets: Sequence[Asset]) -> ImportSummary:
    """Create new assets and update existing ones (matched by name) in the caller's transaction."""
    existing = await _rows_named(session, [a.name for a in assets], inline=True)
    summary = ImportSummary()
    new_rows: list[dict[str, object]] = []
    for asset in assets:
        values = _row_values(asset)
        row = existing.get(asset.name)
        if row is None:
            new_rows.append({"name": asset.name, **values})
            summary.created.append(asset.name)
        elif all(getattr(row, key) == value for key, value in values.items()):
            summary.unchanged.append(asset.name)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            summary.updated.append(asset.name)
    await session.flush()
    if new_rows:
        # One bulk insert (batched by the driver), not an ORM object per row: an import of tens
        # of thousands of assets stays a matter of seconds.
        await session.execute(insert(AssetRow), new_rows)
    return summary


@dataclass(frozen=True)
class FactSelection:
    """A filter with fact conditions over the inventory: the assets that match, those whose
    facts say they do not, those with no facts to tell (unknown), and when the facts read were
    collected (oldest and newest; None when no candidate had facts)."""

    matched: list[Asset]
    not_matched: list[Asset]
    unknown: list[Asset]
    without_facts: list[str] = field(default_factory=list)  # the unknown never asked at all
    oldest: datetime | None = None
    newest: datetime | None = None


# Facts a filter's conditions read (see `inventory.conditions`).
_CONDITION_FACTS = ("memory_mb", "cpu_count", "os_name", "os_version", "services")


async def select_by_facts(session: AsyncSession, flt: AssetFilter) -> FactSelection:
    """The assets of `flt`, each decided by its facts. The recorded conditions are SQL; the
    fact conditions are then decided in Python over those candidates, on both databases alike:
    facts are JSON values whose comparison SQLite and PostgreSQL would each need their own
    operators for, and the candidates are one inventory's worth of rows at most."""
    rows = list(
        await session.scalars(
            _filtered(select(AssetRow), flt.recorded_part()).order_by(AssetRow.name)
        )
    )
    facts, times = await _condition_facts(session, flt.recorded_part())
    found: dict[Verdict, list[Asset]] = {verdict: [] for verdict in Verdict}
    used: list[datetime] = []
    never_asked: list[str] = []
    for row in rows:
        verdict = fact_verdict(flt, with_record(facts.get(row.id), row.os_version))
        found[verdict].append(asset_from_row(row))
        if row.id in times:
            used.append(times[row.id])
        elif verdict is Verdict.UNKNOWN:
            never_asked.append(row.name)
    return FactSelection(
        matched=found[Verdict.MATCH],
        not_matched=found[Verdict.NO_MATCH],
        unknown=found[Verdict.UNKNOWN],
        without_facts=never_asked,
        oldest=min(used, default=None),
        newest=max(used, default=None),
    )


async def _condition_facts(
    session: AsyncSession, recorded: AssetFilter
) -> tuple[dict[int, dict[str, Any]], dict[int, datetime]]:
    """The facts conditions read, and each asset's collection time, for the assets of the
    recorded filter (a subquery, so no list of ids is bound). An asset with any facts at all
    is in the times, so one that lacks just the fact asked for is unknown, yet its age said."""
    candidates = _filtered(select(AssetRow.id), recorded).scalar_subquery()
    query = select(
        AssetFactRow.asset_id, AssetFactRow.key, AssetFactRow.value, AssetFactRow.collected_at
    ).where(AssetFactRow.asset_id.in_(candidates))
    values: dict[int, dict[str, Any]] = {}
    times: dict[int, datetime] = {}
    for asset_id, key, value, at in await session.execute(query):
        facts = values.setdefault(asset_id, {})
        if key in _CONDITION_FACTS:
            facts[key] = value
        times[asset_id] = min(at, times.get(asset_id, at))
    return values, times


def _filtered(query: Select[Any], flt: AssetFilter) -> Select[Any]:
    conditions = [*_field_conditions(flt), *_list_conditions(flt), *_choice_conditions(flt)]
    return query.where(*conditions) if conditions else query


def _choice_conditions(flt: AssetFilter) -> list[ColumnElement[bool]]:
    """`either`: one of each field's values; `exclude`: none of the pairs. A NULL column holds
    no value, so it is neither chosen nor excluded (`inventory.choices`)."""
    found: list[ColumnElement[bool]] = []
    for name, values in choices.by_field(flt.either).items():
        found.append(or_(*(_holds(name, value) for value in values)))
    for pair in flt.exclude:
        name, value = pair.split("=", 1)
        found.append(func.coalesce(_holds(name, value), False).is_(False))
    return found


_CHOICE_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "os_type": AssetRow.os_type,
    "device_type": AssetRow.device_type,
    "environment": AssetRow.environment,
    "location": AssetRow.location,
    "owner": AssetRow.owner,
    "criticality": AssetRow.criticality,
    "name": AssetRow.name,
}


def _holds(field: str, value: str) -> ColumnElement[bool]:
    """The asset has this value for the field; NULL when the column is NULL."""
    if field == "tag":
        return _in_json_list(AssetRow.tags, value)
    if field == "service":
        return _in_json_list(AssetRow.services, value)
    return _same_text(_CHOICE_COLUMNS[field], value)


def _in_json_list(column: InstrumentedAttribute[Any], value: str) -> ColumnElement[bool]:
    # The list's text holds each element in quotes, which makes the match exact; names and tags
    # hold no quote (their patterns), and case is ignored as for the other fields.
    return func.lower(cast(column, String)).contains(f'"{value.lower()}"', autoescape=True)


def _field_conditions(flt: AssetFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if flt.os_type:
        found.append(AssetRow.os_type == flt.os_type.value)
    if flt.device_type:
        found.append(AssetRow.device_type == flt.device_type.value)
    if flt.environment:
        found.append(AssetRow.environment == flt.environment.lower())
    for column, value in [
        (AssetRow.location, flt.location),
        (AssetRow.owner, flt.owner),
        (AssetRow.criticality, flt.criticality),
    ]:
        if value:
            found.append(_same_text(column, value))
    if flt.text:
        pattern = flt.text.lower()
        found.append(
            or_(
                func.lower(AssetRow.name).contains(pattern, autoescape=True),
                func.lower(AssetRow.hostname).contains(pattern, autoescape=True),
            )
        )
    if flt.hostname_text:
        pattern = flt.hostname_text.lower()
        found.append(func.lower(AssetRow.hostname).contains(pattern, autoescape=True))
    if flt.ip_prefix:
        found.append(AssetRow.ip_address.startswith(flt.ip_prefix, autoescape=True))
    return found


def _list_conditions(flt: AssetFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if flt.service:
        # Services are a JSON list of names that hold no quote or backslash (SERVICE_PATTERN):
        # its text holds each name in quotes, so the quoted name matches exactly one element.
        services = func.lower(cast(AssetRow.services, String))
        found.append(services.contains(f'"{flt.service.lower()}"', autoescape=True))
    for tag in flt.tags:
        # Tags are a JSON list; its text holds each tag in quotes, which makes the match exact.
        found.append(cast(AssetRow.tags, String).contains(f'"{tag}"', autoescape=True))
    return found


def _same_text(column: InstrumentedAttribute[str | None], value: str) -> ColumnElement[bool]:
    """Equal ignoring case. Both sides are lowered by the database, so they fold alike: every
    letter on PostgreSQL, ASCII letters only on SQLite (its lower() leaves 'Ü' as it is)."""
    return func.lower(column) == func.lower(literal(value, String))


async def list_assets(
    session: AsyncSession, flt: AssetFilter | None = None, *, limit: int | None = None
) -> list[Asset]:
    """The assets of the filter by name; with fact conditions, those their facts match (see
    :func:`select_by_facts` for the unknown ones)."""
    if flt is not None and flt.uses_facts():
        return (await select_by_facts(session, flt)).matched[:limit]
    query = _filtered(select(AssetRow), flt or AssetFilter()).order_by(AssetRow.name)
    if limit is not None:
        query = query.limit(limit)
    return [asset_from_row(row) for row in await session.scalars(query)]


# What a list answer shows of each asset (`list_summaries`).
LISTED_FIELDS = ("name", "hostname", "ip_address", "os_type", "device_type", "environment")


async def list_summaries(
    session: AsyncSession, flt: AssetFilter, *, limit: int
) -> list[dict[str, Any]]:
    """The LISTED_FIELDS of the assets of the filter (no fact conditions) by name: only the
    columns a list shows, so no whole record is read or validated for it."""
    columns = [getattr(AssetRow, name) for name in LISTED_FIELDS]
    query = _filtered(select(*columns), flt).order_by(AssetRow.name).limit(limit)
    return [dict(zip(LISTED_FIELDS, row, strict=True)) for row in await session.execute(query)]


async def count_assets(session: AsyncSession, flt: AssetFilter | None = None) -> Breakdown:
    """How many assets the filter selects, by kind; with fact conditions, those their facts
    match (see :func:`select_by_facts` for the unknown ones)."""
    if flt is not None and flt.uses_facts():
        return breakdown_of((await select_by_facts(session, flt)).matched)
    inner = _filtered(select(AssetRow), flt or AssetFilter()).subquery()
    query = select(inner.c.os_type, inner.c.device_type, func.count()).group_by(
        inner.c.os_type, inner.c.device_type
    )
    by_kind: Counter[tuple[str, str]] = Counter()
    for os_type, device_type, count in await session.execute(query):
        by_kind[(os_type, device_type)] = count
    return Breakdown(total=sum(by_kind.values()), by_kind=dict(by_kind.most_common()))


async def count_by(session: AsyncSession, flt: AssetFilter, field: str) -> dict[str | None, int]:
    """How many assets the filter selects for each value of one recorded field, most first;
    None counts those with no value. With fact conditions, of those their facts match."""
    if field not in _SPLIT_FIELDS:
        raise ValueError(f"cannot split a count by {field!r}")
    if flt.uses_facts():
        matched = (await select_by_facts(session, flt)).matched
        return dict(Counter(getattr(a, field) for a in matched).most_common())
    inner = _filtered(select(AssetRow), flt).subquery()
    column = inner.c[field]
    query = select(column, func.count()).group_by(column)
    counts = Counter({value: n for value, n in await session.execute(query)})
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0] is None, item[0] or "")))


# The recorded fields a count can be split by (`inventory.count_assets`'s `by`).
_SPLIT_FIELDS = frozenset({"environment", "location", "owner", "criticality"})


def breakdown_of(assets: Sequence[Asset]) -> Breakdown:
    by_kind = Counter((a.os_type.value, a.device_type.value) for a in assets)
    return Breakdown(total=len(assets), by_kind=dict(by_kind.most_common()))


async def get_asset(session: AsyncSession, name: str) -> Asset:
    row = await session.scalar(select(AssetRow).where(AssetRow.name == name))
    if row is None:
        raise AssetNotFound(f"no asset named {name!r}")
    return asset_from_row(row)


async def get_assets(session: AsyncSession, names: Sequence[str]) -> dict[str, Asset]:
    rows = await _rows_named(session, names)
    return {name: asset_from_row(row) for name, row in rows.items()}


async def delete_asset(session: AsyncSession, name: str) -> None:
    row = await session.scalar(select(AssetRow).where(AssetRow.name == name))
    if row is None:
        raise AssetNotFound(f"no asset named {name!r}")
    await session.delete(row)


async def asset_index_rows(session: AsyncSession) -> list[tuple[Any, ...]]:
    """The columns understanding needs, for every asset, without building full models."""
    query = select(
        AssetRow.name,
        AssetRow.hostname,
        AssetRow.ip_address,
        AssetRow.os_type,
        AssetRow.device_type,
        AssetRow.environment,
        AssetRow.tags,
        AssetRow.location,
        AssetRow.services,
        AssetRow.owner,
    )
    return [tuple(row) for row in await session.execute(query)]


async def index_facts(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """The facts fact conditions read, by asset name, for every asset that has any."""
    query = (
        select(AssetRow.name, AssetFactRow.key, AssetFactRow.value)
        .join(AssetRow, AssetRow.id == AssetFactRow.asset_id)
        .where(AssetFactRow.key.in_(_CONDITION_FACTS))
    )
    found: dict[str, dict[str, Any]] = {}
    for name, key, value in await session.execute(query):
        found.setdefault(name, {})[key] = value
    return found


async def inventory_fingerprint(session: AsyncSession) -> revision.InventoryRevision:
    """The inventory's revision (`store.revision`): it changes with every committed write to
    the assets or their facts, and only then; the key of cached indexes. Read it before what is
    built from the inventory: on PostgreSQL each statement of a transaction may see newer
    commits than the one before, so the rows read after it are at least as new as it says."""
    return await revision.current(session)
