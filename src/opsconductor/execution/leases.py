"""Leases on running executions: a worker renews its lease by heartbeat; every write it makes
for the run first checks that the lease is still its own (the epoch is a fencing token), so a
worker back from a stall or a database outage cannot overwrite the process that took over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import LeaseLost
from opsconductor.execution.states import ExecutionState
from opsconductor.store.database import Database
from opsconductor.store.tables import ExecutionRow, utcnow


@dataclass(frozen=True)
class Lease:
    """The claim a worker holds on one running execution."""

    execution_id: str
    epoch: int
    worker: str

    async def hold(self, session: AsyncSession) -> None:
        """Lock the execution's row for the caller's write transaction if the lease is still
        this one's; raise LeaseLost (and the caller's transaction rolls back) otherwise. Only
        the epoch is read: the fence is checked before every write of a run."""
        epoch = await session.scalar(
            select(ExecutionRow.lease_epoch)
            .where(ExecutionRow.id == self.execution_id)
            .with_for_update()
        )
        if epoch != self.epoch:
            raise LeaseLost(
                f"execution {self.execution_id} was taken over from {self.worker}; "
                "this worker writes nothing more for it"
            )

    async def renew(self, db: Database, lease_s: float) -> bool:
        """Extend the lease; False once another process has taken it over (or the run left
        RUNNING)."""
        async with db.session() as session:
            result = await session.execute(
                update(ExecutionRow)
                .where(ExecutionRow.id == self.execution_id)
                .where(ExecutionRow.lease_epoch == self.epoch)
                .where(ExecutionRow.state == ExecutionState.RUNNING.value)
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    async def release(self, db: Database) -> None:
        """Give the execution up at once (shutdown): its lease ends now and this worker's epoch
        is retired, so the next live process takes it over without waiting."""
        async with db.session() as session:
            await session.execute(
                update(ExecutionRow)
                .where(ExecutionRow.id == self.execution_id)
                .where(ExecutionRow.lease_epoch == self.epoch)
                .values(lease_epoch=self.epoch + 1, lease_expires_at=utcnow())
                .execution_options(synchronize_session=False)
            )


async def overdue(
    session: AsyncSession, state: ExecutionState, now: datetime, limit: int = 100
) -> list[str]:
    """Executions in `state` whose lease (RUNNING: its owner stopped renewing it) or claim
    deadline (APPROVED: nobody started it) has passed."""
    rows = await session.scalars(
        select(ExecutionRow.id)
        .where(ExecutionRow.state == state.value)
        .where(ExecutionRow.lease_expires_at < now)
        .order_by(ExecutionRow.lease_expires_at)
        .limit(limit)
    )
    return list(rows)


def claim_deadline(lease_s: float) -> datetime:
    """When an approved execution nobody has claimed is handed to a worker: the process that
    approved it normally claims it within milliseconds, unless it died in between."""
    return utcnow() + timedelta(seconds=lease_s)
