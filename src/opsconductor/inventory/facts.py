"""Facts collected from assets (OS, kernel, CPUs, memory, disks, running services), stored per
asset with the time they were collected. Facts are what a host said when it was asked, not
what the inventory declares: an asset that was never asked has no facts, which is unknown,
never zero or empty."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import AssetNotFound, ValidationFailed
from opsconductor.inventory.repository import NAMES_PER_QUERY
from opsconductor.store.tables import AssetFactRow, AssetRow

FACT_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_FACT_KEY = re.compile(FACT_KEY_PATTERN)


@dataclass(frozen=True)
class AssetFacts:
    """One asset's facts and when they were collected."""

    values: dict[str, JsonValue]
    collected_at: datetime


async def store_facts(
    session: AsyncSession,
    asset_name: str,
    facts: Mapping[str, JsonValue],
    collected_at: datetime,
) -> None:
    """Replace every fact of the asset with `facts`, in the caller's transaction: a reader sees
    the old set or the new one, never a mix. An empty mapping removes the asset's facts."""
    if collected_at.tzinfo is None:
        raise ValueError("collected_at must be timezone-aware")
    for key, value in facts.items():
        _check_fact(key, value)
    # The asset's row is locked (PostgreSQL; SQLite's writer already holds the database) so
    # that two collections of the same asset replace one after the other, not into each other.
    asset_id = await session.scalar(
        select(AssetRow.id).where(AssetRow.name == asset_name).with_for_update()
    )
    if asset_id is None:
        raise AssetNotFound(f"no asset named {asset_name!r}")
    await session.execute(delete(AssetFactRow).where(AssetFactRow.asset_id == asset_id))
    if facts:
        rows = [
            {"asset_id": asset_id, "key": key, "value": value, "collected_at": collected_at}
            for key, value in facts.items()
        ]
        await session.execute(insert(AssetFactRow), rows)


async def facts_for(session: AsyncSession, names: Sequence[str]) -> dict[str, AssetFacts]:
    """The facts of each named asset that has any; an asset without facts (or not in the
    inventory) is left out. `collected_at` is the oldest of the asset's facts."""
    values: dict[str, dict[str, JsonValue]] = {}
    collected: dict[str, datetime] = {}
    for start in range(0, len(names), NAMES_PER_QUERY):
        chunk = list(names[start : start + NAMES_PER_QUERY])
        query = (
            select(AssetRow.name, AssetFactRow.key, AssetFactRow.value, AssetFactRow.collected_at)
            .join(AssetRow, AssetRow.id == AssetFactRow.asset_id)
            .where(AssetRow.name.in_(chunk))
            .order_by(AssetRow.name, AssetFactRow.key)
        )
        for name, key, value, at in await session.execute(query):
            values.setdefault(name, {})[key] = value
            collected[name] = min(at, collected.get(name, at))
    return {name: AssetFacts(values[name], collected[name]) for name in values}


def _check_fact(key: str, value: JsonValue) -> None:
    if not _FACT_KEY.match(key):
        raise ValidationFailed(
            f"fact key {key!r} must be 1-128 letters, digits and . _ -, "
            "starting with a letter or digit"
        )
    try:
        # What PostgreSQL's json type takes: JSON data, no NaN or infinity.
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"fact {key}: not a JSON value: {exc}") from None
