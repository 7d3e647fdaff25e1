"""The append-only audit trail, hash-chained so that an altered or removed row shows."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.store.tables import AuditEventRow, utcnow

GENESIS = "0" * 64
# Any fixed number: PostgreSQL advisory locks are keyed by an integer the application picks.
_CHAIN_LOCK_KEY = 7_340_231
_HEAD_KEY = "opsconductor.audit_head"


async def record_event(
    session: AsyncSession,
    *,
    actor: str,
    entity_type: str,
    entity_id: str,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEventRow:
    """Append one event in the caller's transaction, linked to the newest one before it."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_HEAD_KEY)
    if cached is not None and cached[0] is transaction:
        # This transaction appended last and still holds the chain (PostgreSQL's advisory
        # lock, SQLite's write lock) until it ends: nobody can have appended since.
        previous = cached[1]
    else:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            # Serialise appends so that two writers cannot both link to the same predecessor.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY}
            )
        previous = await session.scalar(
            select(AuditEventRow.hash).order_by(AuditEventRow.id.desc()).limit(1)
        )
    row = AuditEventRow(
        at=utcnow(),
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        details=details or {},
        prev_hash=previous or GENESIS,
    )
    row.hash = event_hash(row)
    session.add(row)  # flushed with the rest of the transaction: inserts go out in batches
    session.info[_HEAD_KEY] = (transaction, row.hash)
    return row


def event_hash(row: AuditEventRow) -> str:
    material = {
        "prev": row.prev_hash,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "entity": [row.entity_type, row.entity_id],
        "action": row.action,
        "states": [row.from_state, row.to_state],
        "reason": row.reason,
        "details": row.details,
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Re-walk the trail and name the first event whose content or link does not hold."""
    expected_prev = GENESIS
    checked = 0
    rows = await session.stream_scalars(select(AuditEventRow).order_by(AuditEventRow.id))
    async for row in rows:
        if row.prev_hash != expected_prev:
            return ChainReport(
                False, checked, row.id, "link broken: an event before it was removed or inserted"
            )
        if event_hash(row) != row.hash:
            return ChainReport(False, checked, row.id, "content altered")
        expected_prev = row.hash
        checked += 1
    return ChainReport(True, checked)
