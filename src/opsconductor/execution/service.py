"""Stage E's service functions: create, approve, deny, run and read executions. Every face
(CLI, API, worker) calls these; none of them touches the tables directly."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.catalog.loader import Catalog
from opsconductor.catalog.models import ToolSpec
from opsconductor.catalog.parsers import Parsed
from opsconductor.config import Settings
from opsconductor.connectors import inventory as inventory_connector
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.errors import ApprovalError, ApprovalExpired, NotFound
from opsconductor.execution import aggregate
from opsconductor.execution.approvals import (
    ApprovalStatus,
    check_can_decide,
    load_for_update,
    pending_for,
    request_approvals,
)
from opsconductor.execution.engine import Engine, EngineLimits
from opsconductor.execution.events import Event, EventBus
from opsconductor.execution.recorder import DbRecorder
from opsconductor.execution.results import build_result
from opsconductor.execution.states import ExecutionState
from opsconductor.execution.transitions import claim, transition
from opsconductor.inventory import repository
from opsconductor.schemas.decision import DecisionV1
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import ApprovalRow, ExecutionRow, utcnow
from opsconductor.store.transactions import Transactions

logger = logging.getLogger(__name__)


class ExecutionService:
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

    async def create(
        self, *, text: str, decision: DecisionV1, plan: PlanV1, requester: str
    ) -> tuple[ExecutionRow, list[ApprovalRow]]:
        """Record a plan as an execution; pending approval unless its level is 0."""
        needs_approval = plan.approval_level > 0
        state = ExecutionState.PENDING_APPROVAL if needs_approval else ExecutionState.APPROVED
        async with self.db.session() as session:
            row = ExecutionRow(
                id=str(uuid.uuid4()),
                request_text=text,
                requested_by=requester,
                plan_id=plan.id,
                plan_hash=plan.content_hash(),
                plan=plan.model_dump(mode="json"),
                decision=decision.model_dump(mode="json"),
                approval_level=plan.approval_level,
                mode=plan.mode.value,
                state=state.value,
                output="",
            )
            session.add(row)
            await session.flush()
            await record_event(
                session,
                actor=requester,
                entity_type="execution",
                entity_id=row.id,
                action="created",
                to_state=state.value,
                reason=f"request: {text[:200]}",
                details={"plan_hash": row.plan_hash, "approval_level": plan.approval_level},
            )
            approvals: list[ApprovalRow] = []
            if needs_approval:
                ttl = self.settings.approval_ttl_s.get(plan.approval_level, 3600)
                approvals = await request_approvals(session, row, plan, ttl)
        if approvals:
            data = {"approval_ids": [a.id for a in approvals], "level": plan.approval_level}
            await self.events.publish(Event(row.id, "approval_required", data))
        return row, approvals

    async def approve(
        self, approval_id: str, actor: str, comment: str | None = None
    ) -> ExecutionRow:
        """Approve; when it was the last pending approval the execution becomes approved."""
        return await self._decide(approval_id, actor, comment, approved=True)

    async def deny(self, approval_id: str, actor: str, comment: str) -> ExecutionRow:
        return await self._decide(approval_id, actor, comment, approved=False)

    async def _decide(
        self, approval_id: str, actor: str, comment: str | None, *, approved: bool
    ) -> ExecutionRow:
        try:
            async with self.db.session() as session:
                approval, execution = await load_for_update(session, approval_id)
                check_can_decide(approval, execution, actor)
                await self._record_decision(session, approval, execution, actor, comment, approved)
                return execution
        except ApprovalExpired:
            await self._expire(approval_id, actor)
            raise
        except ApprovalError as refused:
            await self._audit_refusal(approval_id, actor, str(refused))
            raise

    async def _record_decision(
        self,
        session: AsyncSession,
        approval: ApprovalRow,
        execution: ExecutionRow,
        actor: str,
        comment: str | None,
        approved: bool,
    ) -> None:
        status = ApprovalStatus.APPROVED if approved else ApprovalStatus.DENIED
        approval.status = status.value
        approval.decided_by = actor
        approval.decided_at = utcnow()
        approval.comment = comment
        await record_event(
            session,
            actor=actor,
            entity_type="approval",
            entity_id=approval.id,
            action=status.value,
            from_state=ApprovalStatus.PENDING.value,
            to_state=status.value,
            reason=comment,
            details={"execution_id": execution.id, "plan_hash": approval.plan_hash},
        )
        await session.flush()
        if not approved:
            await transition(
                session,
                execution,
                to=ExecutionState.REJECTED,
                actor=actor,
                reason=comment or "denied",
            )
        elif not await pending_for(session, execution.id):
            reason = f"approved by {actor} (level {approval.level})"
            await transition(
                session, execution, to=ExecutionState.APPROVED, actor=actor, reason=reason
            )

    async def _expire(self, approval_id: str, actor: str) -> None:
        async with self.db.session() as session:
            approval, execution = await load_for_update(session, approval_id)
            approval.status = ApprovalStatus.EXPIRED.value
            await record_event(
                session,
                actor=actor,
                entity_type="approval",
                entity_id=approval.id,
                action="expired",
                from_state="pending",
                to_state="expired",
                reason="decision attempted after expiry",
            )
            if execution.state == ExecutionState.PENDING_APPROVAL:
                await transition(
                    session,
                    execution,
                    to=ExecutionState.EXPIRED,
                    actor="system",
                    reason=f"approval {approval.id} expired",
                )

    async def _audit_refusal(self, approval_id: str, actor: str, why: str) -> None:
        async with self.db.session() as session:
            await record_event(
                session,
                actor=actor,
                entity_type="approval",
                entity_id=approval_id,
                action="decision_refused",
                reason=why,
            )

    async def enqueue(self, execution_id: str, actor: str) -> None:
        """Hand an approved execution to the background worker."""
        async with self.db.session() as session:
            execution = await self._get(session, execution_id)
            await transition(
                session, execution, to=ExecutionState.QUEUED, actor=actor, reason="background mode"
            )

    async def run(self, execution_id: str, worker: str) -> ExecutionResultV1:
        """Claim and run an approved (or queued) execution; a lost claim runs nothing.

        A plan that only queries the inventory runs in the claiming transaction: it has no side
        effect to announce, so its whole record commits at once. A plan that touches hosts
        commits every change before the effect it announces."""
        try:
            async with self.db.session() as session:
                if not await self._claim(session, execution_id, worker):
                    logger.info("execution %s was not claimable", execution_id)
                    return await build_result(session, await self._get(session, execution_id))
                execution = await self._get(session, execution_id)
                plan = PlanV1.model_validate(execution.plan)
                if self._touches_hosts(plan):
                    inline = None
                else:
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
        engine = Engine(
            plan, assets, self.catalog, self.connectors, recorder, query_inventory, limits
        )
        await recorder.create_rows(engine.units())
        await recorder.publish("progress", {"state": "running", "units": len(engine.units())})
        outcomes = await engine.run()
        state = aggregate.final_state(outcomes, engine.cancelled)
        answer = aggregate.answer(outcomes, state)
        await self._finish(tx, execution_id, worker, state, answer, None)

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
            execution = await self._get(session, execution_id)
            execution.output = output
            execution.error_message = error
            await transition(session, execution, to=state, actor=actor, reason=error or "finished")
        data = {"state": state.value, "output": output, "error": error}
        await tx.publish(Event(execution_id, "complete", data))

    async def _fail(self, execution_id: str, worker: str, reason: str) -> None:
        """Record a crash as a failure, claiming first if the crash undid the claim."""
        async with self.db.session() as session:
            execution = await self._get(session, execution_id)
            if execution.state in {ExecutionState.APPROVED, ExecutionState.QUEUED}:
                await self._claim(session, execution_id, worker)
                await session.refresh(execution)
            if execution.state == ExecutionState.RUNNING:
                execution.error_message = reason
                await transition(
                    session, execution, to=ExecutionState.FAILED, actor=worker, reason=reason
                )

    async def result(self, execution_id: str) -> ExecutionResultV1:
        async with self.db.session() as session:
            return await build_result(session, await self._get(session, execution_id))

    @staticmethod
    async def _get(session: AsyncSession, execution_id: str) -> ExecutionRow:
        execution = await session.get(ExecutionRow, execution_id)
        if execution is None:
            raise NotFound(f"no execution with id {execution_id!r}")
        return execution

    async def queued(self, limit: int = 10) -> list[str]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(ExecutionRow.id)
                .where(ExecutionRow.state == ExecutionState.QUEUED.value)
                .order_by(ExecutionRow.created_at)
                .limit(limit)
            )
            return list(rows)
