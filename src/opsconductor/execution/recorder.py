"""The engine's recorder on the store: step rows, audit events and progress events."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import AssetNotFound
from opsconductor.execution.engine import StepOutcome
from opsconductor.execution.events import Event, store_event
from opsconductor.execution.results import columns_of
from opsconductor.execution.states import StepState, check_step_transition
from opsconductor.execution.transactions import Transactions
from opsconductor.inventory.facts import store_facts
from opsconductor.store.at_commit import insert_at_commit, update_at_commit
from opsconductor.store.audit import record_event
from opsconductor.store.tables import StepRunRow, table_of

# Output chunks are streamed as events but not each stored: the step row keeps the whole.
STORED_OUTPUT_EVENT_BYTES = 4096

Key = tuple[str, str | None]

logger = logging.getLogger(__name__)


class DbRecorder:
    """Writes each change of a step, with its audit event, before the engine goes on.

    In separate transactions (a run that touches hosts) each change commits before the effect
    it announces. In a run recorded whole (one shared transaction, an inventory query) the step
    rows are kept here and inserted once, as they stand, when the transaction commits.

    Under the run's lease this recorder is the only writer of the execution's step rows, so the
    state each row is in is known here and never read back."""

    def __init__(self, tx: Transactions, execution_id: str, actor: str) -> None:
        self.tx = tx
        self.execution_id = execution_id
        self.actor = actor
        self._row_ids: dict[Key, int] = {}
        self._states: dict[Key, str] = {}
        # Each step row as written; in a run recorded whole, as it will be inserted at commit.
        self._rows: dict[Key, dict[str, Any]] = {}

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The execution's step rows as this recorder wrote them (or took them over), in the
        order of their ids: what the store holds, without reading it back."""
        return list(self._rows.values())

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
            self._states[(row.step_id, row.target)] = row.state
            self._rows[(row.step_id, row.target)] = columns_of(row)
        return rows

    async def start(self, units: list[StepOutcome]) -> None:
        """Rows for the units that have none yet, and the progress event that the run has
        started, in one transaction (the rows in one statement)."""
        missing = [u for u in units if (u.step_id, u.target) not in self._states]
        rows = [_pending_row(self.execution_id, unit) for unit in missing]
        progress = {"state": "running", "units": len(units)}
        if self.tx.shared is not None:
            for row in rows:
                insert_at_commit(self.tx.shared, _STEPS, row)

        async def create(session: AsyncSession) -> list[int]:
            store_event(session, self.execution_id, "progress", progress)
            if not rows or self.tx.shared is not None:
                return []
            inserted = await session.execute(
                insert(_STEPS).returning(_STEPS.c.id, sort_by_parameter_order=True), rows
            )
            return list(inserted.scalars())

        ids = await self.tx.write(create)
        for unit, row in zip(missing, rows, strict=True):
            self._states[(unit.step_id, unit.target)] = StepState.PENDING.value
            self._rows[(unit.step_id, unit.target)] = row
        if self.tx.shared is None:  # a run recorded whole inserts its rows at commit: no ids
            for unit, row_id in zip(missing, ids, strict=True):
                self._row_ids[(unit.step_id, unit.target)] = row_id
        await self.tx.publish(Event(self.execution_id, "progress", progress))

    async def step_started(self, outcome: StepOutcome) -> None:
        await self._write(outcome, "step_started", {"command": outcome.command})

    async def step_output(self, outcome: StepOutcome, chunk: str) -> None:
        data = {"step_id": outcome.step_id, "target": outcome.target, "chunk": chunk}
        event = Event(self.execution_id, "step_output", data)
        await self.tx.publish(event)

    async def step_finished(self, outcome: StepOutcome) -> None:
        details = {"exit_code": outcome.exit_code, "error_kind": outcome.error_kind}
        await self._write(outcome, "step_complete", details)

    async def _write(self, outcome: StepOutcome, event_type: str, details: dict[str, Any]) -> None:
        key = (outcome.step_id, outcome.target)
        data = {
            "step_id": outcome.step_id,
            "target": outcome.target,
            "state": outcome.state.value,
            "summary": outcome.summary,
            **details,
        }
        previous = self._states[key]
        check_step_transition(previous, outcome.state.value)
        values = _outcome_values(outcome)

        async def write(session: AsyncSession) -> None:
            if self.tx.shared is None:  # else the row is inserted at commit as it stands then
                update_at_commit(session, _STEPS, self._row_ids[key], values)
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
            store_event(session, self.execution_id, event_type, data)
            await _store_facts(session, outcome)

        await self.tx.write(write)
        self._states[key] = outcome.state.value
        self._rows[key].update(values)  # in a run recorded whole, the row inserted at commit
        await self.tx.publish(Event(self.execution_id, event_type, data))


_STEPS = table_of(StepRunRow)


def _pending_row(execution_id: str, unit: StepOutcome) -> dict[str, Any]:
    """Every column given, so that the rows of one statement share their columns."""
    return {
        "execution_id": execution_id,
        "step_id": unit.step_id,
        "tool": unit.tool,
        "target": unit.target,
        "state": StepState.PENDING.value,
        "started_at": None,
        "completed_at": None,
        "exit_code": None,
        "output": "",
        "error": None,
        "error_kind": None,
        "data": None,
        "command": None,
    }


def _outcome_values(outcome: StepOutcome) -> dict[str, Any]:
    return {
        "state": outcome.state.value,
        "command": outcome.command,
        "started_at": outcome.started_at,
        "completed_at": outcome.completed_at,
        "exit_code": outcome.exit_code,
        "output": outcome.output,
        "error": outcome.error,
        "error_kind": outcome.error_kind,
        "data": outcome.data if isinstance(outcome.data, dict) else {"value": outcome.data},
    }


async def _store_facts(session: AsyncSession, outcome: StepOutcome) -> None:
    """A facts tool's parsed data become the host's facts in the transaction that records the
    unit's finish: the facts and the step that collected them are written together or not."""
    if outcome.facts is None or outcome.target is None or outcome.completed_at is None:
        return
    try:
        await store_facts(session, outcome.target, outcome.facts, outcome.completed_at)
    except AssetNotFound:  # removed from the inventory while the unit ran: nothing to attach to
        logger.info("facts of %s not stored: no longer in the inventory", outcome.target)
