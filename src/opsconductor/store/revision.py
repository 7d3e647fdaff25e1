"""The inventory's revision: one number that every transaction writing assets or their facts
raises, in that same transaction, as it commits. A reader that sees revision N sees exactly the
inventory that the first N such commits made, so the revision is an exact key for anything
built from the inventory (the brain's index, in memory and on disk).

Writers do not bump it themselves, so none can forget: the sessions of the store
(:class:`StoreSession`) note every flush that adds, changes or removes an asset or a fact, and
every insert, update or delete statement on those tables run through the session, and the commit
of a transaction that noted one runs ``UPDATE inventory_revision SET revision = revision + 1``.
On PostgreSQL that UPDATE locks the row until the commit, so overlapping writers take turns only
for that last moment, and commit in the order of the numbers they wrote; on SQLite the writer
holds the database's one write lock already. SQL text (``text("DELETE FROM assets")``) is not
seen: nothing writes the inventory that way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.sql.dml import UpdateBase

# Commit hooks run in the order they were registered. The one that writes a transaction's
# noted rows and takes the audit chain's locks (store.at_commit) must come first: the bump is
# then the last lock a commit takes, so its holder waits for nothing but its own commit, and two
# writers cannot hold the two locks in opposite orders (a deadlock on PostgreSQL). Importing
# at_commit here registers its hook first.
from opsconductor.store import at_commit  # noqa: F401
from opsconductor.store.tables import AssetFactRow, AssetRow, InventoryRevisionRow

_INVENTORY_TABLES = frozenset({AssetRow.__tablename__, AssetFactRow.__tablename__})
_INVENTORY_ROWS = (AssetRow, AssetFactRow)
# In session.info (a dict of its own per session): this transaction wrote the inventory.
_CHANGED = "opsconductor_inventory_changed"


class StoreSession(Session):
    """The sessions of the store (the sync half of each AsyncSession): they keep the inventory's
    revision, through the events below."""


@dataclass(frozen=True)
class InventoryRevision:
    """Which inventory: the store it is in and the number of inventory writes it has seen."""

    store_id: str
    number: int


async def current(session: AsyncSession) -> InventoryRevision:
    """The inventory's revision as this transaction sees it."""
    query = select(InventoryRevisionRow.store_id, InventoryRevisionRow.revision)
    store_id, number = (await session.execute(query)).one()
    return InventoryRevision(store_id, int(number))


@event.listens_for(StoreSession, "before_flush")
def _note_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    if session.info.get(_CHANGED):
        return
    changed = (
        any(isinstance(row, _INVENTORY_ROWS) for row in session.new)
        or any(isinstance(row, _INVENTORY_ROWS) for row in session.deleted)
        or any(
            isinstance(row, _INVENTORY_ROWS) and session.is_modified(row) for row in session.dirty
        )
    )
    if changed:
        session.info[_CHANGED] = True


@event.listens_for(StoreSession, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, UpdateBase) and statement.is_dml:
        table = getattr(statement, "table", None)
        if getattr(table, "name", None) in _INVENTORY_TABLES:
            state.session.info[_CHANGED] = True


@event.listens_for(StoreSession, "before_commit")
def _bump_at_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: the outermost commit bumps
    # The commit flushes after this hook; flush first so its writes are noted too.
    session.flush()
    if session.info.pop(_CHANGED, False):
        session.execute(
            update(InventoryRevisionRow).values(revision=InventoryRevisionRow.revision + 1)
        )


@event.listens_for(StoreSession, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rollback of the whole transaction wrote nothing
        session.info.pop(_CHANGED, None)
