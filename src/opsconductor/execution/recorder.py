"""The engine's recorder on the store: step rows, audit events and progress events."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import AssetNotFound
from opsconductor.execution.engine import StepOutcome
from opsconductor.execution.events import Event
from opsconductor.execution.states import StepState, check_step_transition
from opsconductor.execution.transactions import Transactions
from opsconductor.inventory.facts import store_facts
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ExecutionEventRow, StepRunRow

# Output chunks are streamed as events but not each stored: the step row keeps the whole.
STORED_OUTPUT_EVENT_BYTES = 4096

Key = tuple[str, str | None]

logger = logging.getLogger(__name__)


class DbRecorder:
    """Writes each change of a step, with its audit event, before the engine goes on."""

    def __init__(self, tx: Transactions, execution_id: str, actor: str) -> None:
        self.tx = tx
        self.execution_id = execution_id
        self.actor = actor
        self._row_ids: dict[Key, int] = {}
        self._rows: dict[Key, StepRunRow] = {}

    async def existing_rows(self) -> list[StepRunRow]:
        """The step rows of an execution that ran before (resumed after an approval of its
        next step, a takeover, or a resolve); empty for a first run."""

        async def load(session: AsyncSession) -> list[StepRunRow]:
            rows = await session.scalars(
                select(StepRunRow)
                .where(StepRunRow.execution_id == self.execution_id)
                .order_by(StepRunRow.id)
            )
            return list(rows)

        rows = await self.tx.read(load)
        for row in rows:
            self._row_ids[(row.step_id, row.target)] = row.id
        return rows

    async def create_rows(self, units: list[StepOutcome]) -> None:
        """Rows for the units that have none yet."""
        missing = [u for u in units if (u.step_id, u.target) not in self._row_ids]
        if not missing:
            return

        async def create(session: AsyncSession) -> None:
            for unit in missing:
                row = StepRunRow(
                    execution_id=self.execution_id,
                    step_id=unit.step_id,
                    tool=unit.tool,
                    target=unit.target,
                    state=StepState.PENDING.value,
                    started_at=None,
                    completed_at=None,
                    exit_code=None,
                    output="",
                    error=None,
                    error_kind=None,
                    data=None,
                    command=None,
                )  # every column given: a fully loaded row is never read back
                session.add(row)
                await session.flush()
                self._row_ids[(unit.step_id, unit.target)] = row.id
                if self.tx.shared is not None:
                    # The session's identity map holds rows weakly; holding them here saves a
                    # query for each later write in the same transaction.
                    self._rows[(unit.step_id, unit.target)] = row

        await self.tx.write(create)

    async def step_started(self, outcome: StepOutcome) -> None:
        await self._write(outcome, "step_started", {"command": outcome.command})

    async def step_output(self, outcome: StepOutcome, chunk: str) -> None:
        data = {"step_id": outcome.step_id, "target": outcome.target, "chunk": chunk}
        event = Event(self.execution_id, "step_output", data)
        await self.tx.publish(event)

    async def step_finished(self, outcome: StepOutcome) -> None:
        details = {"exit_code": outcome.exit_code, "error_kind": outcome.error_kind}
        await self._write(outcome, "step_complete", details)

    async def publish(self, type_: str, data: dict[str, Any]) -> None:
        """Store an event and hand it to live followers."""

        async def store(session: AsyncSession) -> None:
            session.add(ExecutionEventRow(execution_id=self.execution_id, type=type_, data=data))

        await self.tx.write(store)
        await self.tx.publish(Event(self.execution_id, type_, data))

    async def _write(self, outcome: StepOutcome, event_type: str, details: dict[str, Any]) -> None:
        key = (outcome.step_id, outcome.target)
        data = {
            "step_id": outcome.step_id,
            "target": outcome.target,
            "state": outcome.state.value,
            "summary": outcome.summary,
            **details,
        }

        async def write(session: AsyncSession) -> None:
            row = self._rows.get(key) or await session.get(StepRunRow, self._row_ids[key])
            assert row is not None
            previous = row.state
            check_step_transition(previous, outcome.state.value)
            row.state = outcome.state.value
            row.command = outcome.command
            row.started_at = outcome.started_at
            row.completed_at = outcome.completed_at
            row.exit_code = outcome.exit_code
            row.output = outcome.output
            row.error = outcome.error
            row.error_kind = outcome.error_kind
            row.data = outcome.data if isinstance(outcome.data, dict) else {"value": outcome.data}
            await record_event(
                session,
                actor=self.actor,
                entity_type="step",
                entity_id=f"{self.execution_id}:{outcome.step_id}",
                action="transition",
                from_state=previous,
                to_state=outcome.state.value,
                reason=outcome.error,
                details={"target": outcome.target, **details},
            )
            session.add(
                ExecutionEventRow(execution_id=self.execution_id, type=event_type, data=data)
            )
            await _store_facts(session, outcome)

        await self.tx.write(write)
        await self.tx.publish(Event(self.execution_id, event_type, data))


async def _store_facts(session: AsyncSession, outcome: StepOutcome) -> None:
    """A facts tool's parsed data become the host's facts in the transaction that records the
    unit's finish: the facts and the step that collected them are written together or not."""
    if outcome.facts is None or outcome.target is None or outcome.completed_at is None:
        return
    try:
        await store_facts(session, outcome.target, outcome.facts, outcome.completed_at)
    except AssetNotFound:  # removed from the inventory while the unit ran: nothing to attach to
        logger.info("facts of %s not stored: no longer in the inventory", outcome.target)
