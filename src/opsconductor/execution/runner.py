"""Runs claimed executions: the engine over connectors opened for the run, every change
recorded under the run's lease, cancellation honoured whichever process asks for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.parsers import parse_output
from opsconductor.config import Settings
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.errors import LeaseLost
from opsconductor.execution import aggregate, endpoints
from opsconductor.execution.approvals import approved_steps, request_step_approval
from opsconductor.execution.engine import Engine, EngineLimits, StepOutcome, TargetGuard
from opsconductor.execution.events import Event, EventBus, store_event
from opsconductor.execution.hostguard import HostGuard
from opsconductor.execution.leases import Lease
from opsconductor.execution.queries import get_execution
from opsconductor.execution.recorder import DbRecorder
from opsconductor.execution.results import build_result, result_of_run, unwrap_data
from opsconductor.execution.states import STEP_TERMINAL_STATES, ExecutionState, StepState
from opsconductor.execution.transactions import Transactions
from opsconductor.execution.transitions import claim, transition
from opsconductor.inventory.models import Asset
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanStep, PlanV1
from opsconductor.store.database import Database
from opsconductor.store.tables import ExecutionRow, StepRunRow

logger = logging.getLogger(__name__)

CANCEL_POLL_S = 0.25
_CLAIMABLE = {ExecutionState.APPROVED, ExecutionState.QUEUED}


@dataclass
class _Active:
    engine: Engine
    lease: Lease


class Runner:
    """Claims an execution (compare-and-set, under a lease), runs or resumes it, and records
    its end. While it runs, one keeper task renews the lease and watches for a cancel. It
    decides nothing about approvals: :class:`ExecutionService` owns it and is its only caller."""

    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        connectors: ConnectorRegistry,
        events: EventBus,
        settings: Settings,
        host_keys: endpoints.HostKeys = endpoints.no_host_keys,
        hosts: HostGuard | None = None,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.connectors = connectors
        self.hosts = hosts
        self.events = events
        self.settings = settings
        self.host_keys = host_keys
        self.active: dict[str, _Active] = {}

    async def try_run(self, execution_id: str, worker: str) -> ExecutionResultV1 | None:
        """None when another worker has it, or it is not waiting to run.

        A plan that only queries the inventory runs in the claiming transaction: it has no
        side effect to announce, so its whole record commits at once. A plan that touches
        hosts commits every change, fenced by its lease, before the effect it announces."""
        lease: Lease | None = None
        inline: Transactions | None = None
        try:
            async with self.db.session() as session:
                execution = await claim(
                    session,
                    execution_id,
                    worker=worker,
                    from_states=_CLAIMABLE,
                    lease_s=self.settings.lease_s,
                )
                if execution is None:
                    logger.info("execution %s was not claimable", execution_id)
                    return None
                lease = Lease(execution_id, execution.lease_epoch, worker)
                plan = PlanV1.model_validate(execution.plan)
                if not self.touches_hosts(plan):
                    inline = Transactions(self.db, self.events, shared=session)
                    result = await self.run_whole(inline, execution, plan)
            if inline is not None:
                await inline.release()
                return result
            tx = Transactions(
                self.db, self.events, lease=lease, retry_s=self.settings.store_retry_s
            )
            recorder, ended = await self._execute(tx, lease, plan)
            if ended is not None:
                async with self.db.reader() as session:
                    return await result_of_run(session, ended, recorder.rows)
        except LeaseLost as lost:
            logger.warning("%s", lost, extra={"execution_id": execution_id})
        except Exception as exc:
            logger.exception(
                "execution %s crashed", execution_id, extra={"execution_id": execution_id}
            )
            await self.fail(execution_id, worker, f"internal error: {exc}", lease)
        return await self.result(execution_id)

    async def result(self, execution_id: str) -> ExecutionResultV1:
        async with self.db.reader() as session:
            return await build_result(session, await get_execution(session, execution_id))

    async def run_whole(
        self, tx: Transactions, execution: ExecutionRow, plan: PlanV1
    ) -> ExecutionResultV1:
        """Run a claimed plan that touches no host in the claiming transaction `tx` (shared),
        which then holds its whole record; the caller commits it, then `tx.release()`s its
        events. Nothing in such a run reads what it writes, so the session is not flushed
        before the commit writes it all."""
        assert tx.shared is not None and execution.claimed_by is not None
        lease = Lease(execution.id, execution.lease_epoch, execution.claimed_by)
        with tx.shared.no_autoflush:
            recorder, _ = await self._execute(tx, lease, plan, execution)
        return await result_of_run(tx.shared, execution, recorder.rows)

    def stop_locally(self, execution_id: str) -> None:
        """This process runs it: stop now rather than at the keeper's next poll."""
        active = self.active.get(execution_id)
        if active is not None:
            active.engine.cancel()

    def _on_hosts(self, tool: str) -> bool:
        return self.catalog.get(tool).runs_on_hosts

    def touches_hosts(self, plan: PlanV1) -> bool:
        return any(self._on_hosts(step.tool) for step in plan.steps)

    async def _execute(
        self, tx: Transactions, lease: Lease, plan: PlanV1, execution: ExecutionRow | None = None
    ) -> tuple[DbRecorder, ExecutionRow | None]:
        """Run the plan; `execution` is the row when the caller holds it in the shared
        transaction (a run recorded whole), so that its end is written without a read. Returns
        the recorder and the execution row as its end was written (None: it paused for the
        approval of a step)."""
        recorder = DbRecorder(tx, lease.execution_id, lease.worker)
        # Only a run claimed before (epoch above 1: resumed after a step's approval, a takeover
        # or a resolve) has rows to take over; a first run skips the query.
        resumed = tx.shared is None and lease.epoch > 1
        settled = self._settled(await recorder.existing_rows()) if resumed else {}
        limits = EngineLimits(
            global_concurrency=self.settings.global_concurrency,
            sequential=plan.approval_level >= 3,
            abort_on_failure=plan.approval_level >= 3 or plan.on_failure == "abort",
            approved_steps=await self._approved(tx, lease) if plan.approval_level >= 3 else None,
        )

        watch = self.touches_hosts(plan)
        async with self.connectors.open(reads=tx.read) as connectors:
            engine = Engine(
                plan,
                {},
                self.catalog,
                connectors,
                recorder,
                limits,
                guard=self._guard(tx, plan),
                hosts=self.hosts,
            )
            engine.units()
            engine.restore(settled)
            await recorder.start(engine.units())
            outcomes = await self._run_engine(engine, lease, watch=watch)
        if engine.awaiting_approval is not None:
            await self._pause_for_step(tx, lease, plan, engine.awaiting_approval, outcomes)
            return recorder, None
        state = aggregate.final_state(outcomes, engine.cancelled)
        changing = {s.id for s in plan.steps if not s.read_only}
        answer = aggregate.answer(outcomes, state, changing)
        error = f"the plan changed: {engine.plan_changed}" if engine.plan_changed else None
        return recorder, await self._finish(tx, lease, state, answer, error, execution)

    async def _approved(self, tx: Transactions, lease: Lease) -> frozenset[str]:
        return await tx.read(lambda session: approved_steps(session, lease.execution_id))

    def _guard(self, tx: Transactions, plan: PlanV1) -> TargetGuard:
        """Right before a step starts: its targets must still be where the plan said."""

        async def check(step: PlanStep) -> dict[str, Asset] | str:
            resolved = await tx.read(
                lambda session: endpoints.resolve(session, step.targets, self.host_keys)
            )
            planned = {t: plan.endpoints[t] for t in step.targets if t in plan.endpoints}
            problems = endpoints.differences(planned, resolved.endpoints)
            problems += [
                f"{t} is no longer in the inventory"
                for t in step.targets
                if t not in resolved.assets and t not in planned
            ]
            return "; ".join(problems) if problems else resolved.assets

        return check

    def _settled(self, rows: list[StepRunRow]) -> dict[tuple[str, str | None], StepOutcome]:
        """What an earlier run of this execution already settled, as the engine's outcomes."""
        settled = {}
        for row in rows:
            state = StepState(row.state)
            if state not in STEP_TERMINAL_STATES:
                continue
            outcome = StepOutcome(row.step_id, row.tool, row.target, state=state)
            outcome.command, outcome.exit_code, outcome.output = (
                row.command,
                row.exit_code,
                row.output,
            )
            outcome.error, outcome.error_kind = row.error, row.error_kind
            outcome.started_at, outcome.completed_at = row.started_at, row.completed_at
            outcome.data = unwrap_data(row.data)
            outcome.summary = row.error or state.value
            if state is StepState.SUCCEEDED and row.target is not None:
                outcome.summary = parse_output(
                    self.catalog.get(row.tool).parser, row.output
                ).summary
            settled[(row.step_id, row.target)] = outcome
        return settled

    async def _run_engine(self, engine: Engine, lease: Lease, *, watch: bool) -> list[Any]:
        self.active[lease.execution_id] = _Active(engine, lease)
        if not watch:  # an inventory query in the claiming transaction: nothing to hand over
            try:
                return await engine.run()
            finally:
                self.active.pop(lease.execution_id, None)
        keeper = asyncio.create_task(self._keep(engine, lease))
        running = asyncio.ensure_future(engine.run())
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            # This process is going away (shutdown, Ctrl-C): hand the run over first, so that
            # the engine's stopping records nothing and the next live process takes it over
            # (a change in flight becomes `interrupted`), then stop the commands on the hosts.
            with contextlib.suppress(Exception):
                await asyncio.shield(lease.release(self.db))
            engine.cancel()
            with contextlib.suppress(BaseException):
                await running
            raise
        finally:
            self.active.pop(lease.execution_id, None)
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep(self, engine: Engine, lease: Lease) -> None:
        """Renew the lease every heartbeat; stop the engine when another process (the CLI, an
        API replica) asks for a cancel through the store, or when the lease was lost."""
        query = select(ExecutionRow.cancel_requested_at).where(
            ExecutionRow.id == lease.execution_id
        )
        beat = time.monotonic() + self.settings.heartbeat_s
        while True:
            await asyncio.sleep(min(CANCEL_POLL_S, self.settings.heartbeat_s))
            try:
                if not engine.cancelled:
                    async with self.db.reader() as session:
                        if await session.scalar(query) is not None:
                            engine.cancel()
                if time.monotonic() >= beat:
                    if not await lease.renew(self.db, self.settings.lease_s):
                        logger.warning("lost the lease on %s; stopping it", lease.execution_id)
                        engine.cancel()  # its writes are fenced off: nothing more is recorded
                        return
                    beat = time.monotonic() + self.settings.heartbeat_s
            except Exception as exc:
                # The database is away: writes are fenced, so just keep trying.
                logger.warning("lease keeper of %s: %s", lease.execution_id, exc)

    async def _pause_for_step(
        self,
        tx: Transactions,
        lease: Lease,
        plan: PlanV1,
        step_id: str,
        outcomes: list[StepOutcome],
    ) -> None:
        """Level 3: the next step waits for its own approval, showing what ran so far."""
        so_far = [
            {"step_id": o.step_id, "target": o.target, "state": o.state.value, "summary": o.summary}
            for o in outcomes
            if o.state is not StepState.PENDING
        ]
        ttl = self.settings.approval_ttl_s.get(3, 3600)

        async def pause(session: AsyncSession) -> dict[str, Any]:
            execution = await get_execution(session, lease.execution_id)
            reason = f"step {step_id} needs its own approval"
            await transition(
                session,
                execution,
                to=ExecutionState.PENDING_APPROVAL,
                actor=lease.worker,
                reason=reason,
            )
            approval = await request_step_approval(session, execution, plan, step_id, ttl)
            data = {"approval_ids": [approval.id], "level": 3, "step_id": step_id}
            store_event(
                session, execution.id, "approval_required", data | {"results_so_far": so_far}
            )
            return data

        data = await tx.write(pause)
        await tx.publish(Event(lease.execution_id, "approval_required", data))

    async def _finish(
        self,
        tx: Transactions,
        lease: Lease,
        state: ExecutionState,
        output: str,
        error: str | None,
        known: ExecutionRow | None = None,
    ) -> ExecutionRow:
        async def finish(session: AsyncSession) -> ExecutionRow:
            execution = known or await get_execution(session, lease.execution_id)
            execution.output = output
            execution.error_message = error
            reason = error or (
                "cancel requested" if state is ExecutionState.CANCELLED else "finished"
            )
            await transition(session, execution, to=state, actor=lease.worker, reason=reason)
            return execution

        ended = await tx.write(finish)
        data = {"state": state.value, "output": output, "error": error}
        await tx.publish(Event(lease.execution_id, "complete", data))
        return ended

    async def fail(self, execution_id: str, worker: str, reason: str, lease: Lease | None) -> None:
        """Record a crash as a failure, claiming first if the crash undid the claim; never over
        a lease that another process has taken."""
        async with self.db.session() as session:
            execution = await get_execution(session, execution_id, for_update=True)
            if lease is not None and execution.lease_epoch != lease.epoch:
                return
            if execution.state in _CLAIMABLE:
                claimed = await claim(
                    session,
                    execution_id,
                    worker=worker,
                    from_states=_CLAIMABLE,
                    lease_s=self.settings.lease_s,
                )
                execution = claimed or execution
            if execution.state == ExecutionState.RUNNING:
                execution.error_message = reason
                await transition(
                    session, execution, to=ExecutionState.FAILED, actor=worker, reason=reason
                )
