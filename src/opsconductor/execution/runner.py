"""Runs claimed executions: the engine over connectors opened for the run, every change
recorded, cancellation honoured whichever process asks for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.catalog.parsers import Parsed
from opsconductor.config import Settings
from opsconductor.connectors import inventory as inventory_connector
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.errors import InvalidTransition
from opsconductor.execution import aggregate
from opsconductor.execution.engine import Engine, EngineLimits
from opsconductor.execution.events import Event, EventBus
from opsconductor.execution.queries import get_execution
from opsconductor.execution.recorder import DbRecorder
from opsconductor.execution.results import build_result
from opsconductor.execution.states import TERMINAL_STATES, ExecutionState
from opsconductor.execution.transitions import claim, transition
from opsconductor.inventory import repository
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import ExecutionEventRow, ExecutionRow, utcnow
from opsconductor.store.transactions import Transactions

logger = logging.getLogger(__name__)

CANCEL_POLL_S = 0.25
CANCEL_WAIT_S = 60.0
_NOT_STARTED = {ExecutionState.PENDING_APPROVAL, ExecutionState.APPROVED, ExecutionState.QUEUED}


class Runner:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        connectors: ConnectorRegistry,
        events: EventBus,
        settings: Settings,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.connectors = connectors
        self.events = events
        self.settings = settings
        self._engines: dict[str, Engine] = {}

    async def run(self, execution_id: str, worker: str) -> ExecutionResultV1:
        """Run it if this worker can claim it; either way, the execution's result as it stands."""
        return await self.try_run(execution_id, worker) or await self.result(execution_id)

    async def try_run(self, execution_id: str, worker: str) -> ExecutionResultV1 | None:
        """None when another worker has it, or it is not waiting to run.

        A plan that only queries the inventory runs in the claiming transaction: it has no
        side effect to announce, so its whole record commits at once. A plan that touches
        hosts commits every change before the effect it announces."""
        try:
            async with self.db.session() as session:
                if not await self._claim(session, execution_id, worker):
                    logger.info("execution %s was not claimable", execution_id)
                    return None
                execution = await get_execution(session, execution_id)
                plan = PlanV1.model_validate(execution.plan)
                inline = None
                if not self._touches_hosts(plan):
                    inline = Transactions(self.db, self.events, shared=session)
                    await self._execute(inline, execution_id, plan, worker)
                    result = await build_result(session, execution)
            if inline is not None:
                await inline.release()
                return result
            await self._execute(Transactions(self.db, self.events), execution_id, plan, worker)
        except Exception as exc:
            logger.exception(
                "execution %s crashed", execution_id, extra={"execution_id": execution_id}
            )
            await self._fail(execution_id, worker, f"internal error: {exc}")
        return await self.result(execution_id)

    async def result(self, execution_id: str) -> ExecutionResultV1:
        async with self.db.session() as session:
            return await build_result(session, await get_execution(session, execution_id))

    async def cancel(self, execution_id: str, actor: str, reason: str) -> ExecutionResultV1:
        async with self.db.session() as session:
            execution = await get_execution(session, execution_id, for_update=True)
            state = ExecutionState(execution.state)
            if state in TERMINAL_STATES:
                raise InvalidTransition(f"execution {execution_id} has already ended: {state}")
            if state in _NOT_STARTED:
                await transition(
                    session, execution, to=ExecutionState.CANCELLED, actor=actor, reason=reason
                )
            else:
                execution.cancel_requested_at = utcnow()
                execution.cancel_requested_by = actor
                await record_event(
                    session,
                    actor=actor,
                    entity_type="execution",
                    entity_id=execution_id,
                    action="cancel_requested",
                    reason=reason,
                )
        engine = self._engines.get(execution_id)
        if engine is not None:
            engine.cancel()  # this process runs it: stop now rather than at the next poll
        return await self._wait_for_end(execution_id)

    async def _wait_for_end(self, execution_id: str) -> ExecutionResultV1:
        async with asyncio.timeout(CANCEL_WAIT_S):
            while True:
                result = await self.result(execution_id)
                if ExecutionState(result.status) in TERMINAL_STATES:
                    return result
                await asyncio.sleep(CANCEL_POLL_S)

    async def _claim(self, session: AsyncSession, execution_id: str, worker: str) -> bool:
        states = {ExecutionState.APPROVED, ExecutionState.QUEUED}
        if not await claim(session, execution_id, worker=worker, from_states=states):
            return False
        await record_event(
            session,
            actor=worker,
            entity_type="execution",
            entity_id=execution_id,
            action="transition",
            to_state="running",
            reason=f"claimed by {worker}",
        )
        data = {"state": "running", "reason": f"claimed by {worker}"}
        session.add(ExecutionEventRow(execution_id=execution_id, type="progress", data=data))
        return True

    def _on_hosts(self, tool: str) -> bool:
        return self.catalog.get(tool).runs_on_hosts

    def _touches_hosts(self, plan: PlanV1) -> bool:
        return any(self._on_hosts(step.tool) for step in plan.steps)

    async def _execute(
        self, tx: Transactions, execution_id: str, plan: PlanV1, worker: str
    ) -> None:
        targets = sorted({t for s in plan.steps if self._on_hosts(s.tool) for t in s.targets})
        async with tx.session() as session:
            assets = await repository.get_assets(session, targets) if targets else {}
        missing = [t for t in targets if t not in assets]
        if missing:
            reason = f"assets removed from the inventory since planning: {', '.join(missing)}"
            await self._finish(tx, execution_id, worker, ExecutionState.FAILED, "", reason)
            return

        async def query_inventory(
            tool: ToolSpec, inputs: dict[str, Any], names: list[str]
        ) -> Parsed:
            async with tx.session() as session:
                return await inventory_connector.run_query(session, tool, inputs, names)

        recorder = DbRecorder(tx, execution_id, worker)
        limits = EngineLimits(
            global_concurrency=self.settings.global_concurrency,
            sequential=plan.approval_level >= 3,
            abort_on_failure=plan.approval_level >= 3 or plan.on_failure == "abort",
        )
        async with self.connectors.open() as connectors:
            engine = Engine(
                plan, assets, self.catalog, connectors, recorder, query_inventory, limits
            )
            await recorder.create_rows(engine.units())
            await recorder.publish("progress", {"state": "running", "units": len(engine.units())})
            outcomes = await self._run_engine(engine, execution_id, watch=bool(targets))
        state = aggregate.final_state(outcomes, engine.cancelled)
        changing = {s.id for s in plan.steps if not s.read_only}
        answer = aggregate.answer(outcomes, state, changing)
        await self._finish(tx, execution_id, worker, state, answer, None)

    async def _run_engine(self, engine: Engine, execution_id: str, *, watch: bool) -> list[Any]:
        self._engines[execution_id] = engine
        watcher = asyncio.create_task(self._watch_cancel(engine, execution_id)) if watch else None
        try:
            return await engine.run()
        finally:
            self._engines.pop(execution_id, None)
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _watch_cancel(self, engine: Engine, execution_id: str) -> None:
        """Another process (the CLI, an API replica) asks for a cancel through the store."""
        query = select(ExecutionRow.cancel_requested_at).where(ExecutionRow.id == execution_id)
        while True:
            await asyncio.sleep(CANCEL_POLL_S)
            async with self.db.session() as session:
                if await session.scalar(query) is not None:
                    engine.cancel()
                    return

    async def _finish(
        self,
        tx: Transactions,
        execution_id: str,
        actor: str,
        state: ExecutionState,
        output: str,
        error: str | None,
    ) -> None:
        async with tx.session() as session:
            execution = await get_execution(session, execution_id)
            execution.output = output
            execution.error_message = error
            reason = error or (
                "cancel requested" if state is ExecutionState.CANCELLED else "finished"
            )
            await transition(session, execution, to=state, actor=actor, reason=reason)
        data = {"state": state.value, "output": output, "error": error}
        await tx.publish(Event(execution_id, "complete", data))

    async def _fail(self, execution_id: str, worker: str, reason: str) -> None:
        """Record a crash as a failure, claiming first if the crash undid the claim."""
        async with self.db.session() as session:
            execution = await get_execution(session, execution_id)
            if execution.state in {ExecutionState.APPROVED, ExecutionState.QUEUED}:
                await self._claim(session, execution_id, worker)
                await session.refresh(execution)
            if execution.state == ExecutionState.RUNNING:
                execution.error_message = reason
                await transition(
                    session, execution, to=ExecutionState.FAILED, actor=worker, reason=reason
                )
