"""Rows a transaction writes only as it commits: each table's new rows in one statement, then
each table's updates by id in one statement, then the audit trail's events
(`audit.append_events`), so that the chain's locks are taken last and held for that moment only.

Append-only rows nobody reads back in the transaction that writes them (progress events, step
rows of a run recorded whole) go here rather than into the session: the ORM would insert them
one by one at each flush, each returning its id. Noted rows are written in the order they were
noted; a rollback forgets them. Updates by id suit rows their one writer already knows the
state of (a run's step rows under its lease): fifty hosts that start together are fifty noted
updates and one statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, event, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from opsconductor.store import audit

_DEFERRED = "opsconductor.rows_at_commit"
_UPDATES = "opsconductor.updates_at_commit"
ROW_ID = "row_id"  # the bound name of the id in an update noted by `update_at_commit`


def insert_at_commit(session: AsyncSession | Session, table: Table, row: dict[str, Any]) -> None:
    """Note `row` for `table`; every row noted for one table must give the same columns."""
    deferred: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_DEFERRED, {})
    deferred.setdefault(table, []).append(row)


def update_at_commit(
    session: AsyncSession | Session, table: Table, row_id: int, values: dict[str, Any]
) -> None:
    """Note an update of the row `row_id` of `table` (its `id`); every update noted for one
    table must set the same columns. Noted twice, a row gets both, in order."""
    updates: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_UPDATES, {})
    updates.setdefault(table, []).append({ROW_ID: row_id, **values})


async def write_now(session: AsyncSession) -> None:
    """Write what is noted so far now rather than at commit; the audit chain's locks are then
    held from here to the commit (tests use it to hold them open)."""
    await session.run_sync(_write_at_commit)


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    deferred: dict[Table, list[dict[str, Any]]] = session.info.pop(_DEFERRED, {})
    updates: dict[Table, list[dict[str, Any]]] = session.info.pop(_UPDATES, {})
    noted = audit.take_noted(session)
    if not deferred and not updates and not noted:
        return
    # The session's own changes first (rows noted here may refer to them), so the commit that
    # follows finds nothing left to flush.
    session.flush()
    for table, rows in deferred.items():
        session.execute(insert(table), rows)
    for table, rows in updates.items():
        columns: dict[str, Any] = {key: bindparam(key) for key in rows[0] if key != ROW_ID}
        by_id = update(table).where(table.c.id == bindparam(ROW_ID)).values(columns)
        session.execute(by_id, rows)
    if noted:
        audit.append_events(session, session.info[audit.KEY_INFO], noted)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info.pop(_DEFERRED, None)
        session.info.pop(_UPDATES, None)
        audit.take_noted(session)
