"""The engine's recorder on the store: step rows, audit events and progress events."""

from __future__ import annotations

from typing import Any

from opsconductor.execution.engine import StepOutcome
from opsconductor.execution.events import Event
from opsconductor.execution.states import StepState, check_step_transition
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ExecutionEventRow, StepRunRow
from opsconductor.store.transactions import Transactions

# Output chunks are streamed as events but not each stored: the step row keeps the whole.
STORED_OUTPUT_EVENT_BYTES = 4096


class DbRecorder:
    """Writes each change of a step, with its audit event, before the engine goes on."""

    def __init__(self, tx: Transactions, execution_id: str, actor: str) -> None:
        self.tx = tx
        self.execution_id = execution_id
        self.actor = actor
        self._row_ids: dict[tuple[str, str | None], int] = {}
        self._rows: dict[tuple[str, str | None], StepRunRow] = {}

    async def create_rows(self, units: list[StepOutcome]) -> None:
        async with self.tx.session() as session:
            for unit in units:
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
        event = Event(self.execution_id, type_, data)
        async with self.tx.session() as session:
            session.add(ExecutionEventRow(execution_id=self.execution_id, type=type_, data=data))
        await self.tx.publish(event)

    async def _write(self, outcome: StepOutcome, event_type: str, details: dict[str, Any]) -> None:
        row_id = self._row_ids[(outcome.step_id, outcome.target)]
        async with self.tx.session() as session:
            row = self._rows.get((outcome.step_id, outcome.target))
            if row is None:
                row = await session.get(StepRunRow, row_id)
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
            data = {
                "step_id": outcome.step_id,
                "target": outcome.target,
                "state": outcome.state.value,
                "summary": outcome.summary,
                **details,
            }
            session.add(
                ExecutionEventRow(execution_id=self.execution_id, type=event_type, data=data)
            )
        await self.tx.publish(Event(self.execution_id, event_type, data))
