"""Stage E's service functions: create, approve, deny, run and read executions. Every face
(CLI, API, worker) calls these; none of them touches the tables directly."""

from __future__ import annotations

import contextlib
import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.catalog.loader import Catalog
from opsconductor.config import Settings
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.errors import ApprovalError, ApprovalExpired, NotFound
from opsconductor.execution.approvals import (
    ApprovalStatus,
    check_can_decide,
    due_for_expiry,
    load_for_update,
    pending_for,
    request_approvals,
)
from opsconductor.execution.events import Event, EventBus
from opsconductor.execution.queries import get_execution
from opsconductor.execution.runner import Runner
from opsconductor.execution.states import ExecutionState
from opsconductor.execution.transitions import transition
from opsconductor.identity.models import Role
from opsconductor.schemas.decision import DecisionV1
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import ApprovalRow, ExecutionEventRow, ExecutionRow, utcnow

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
        self.runner = Runner(db, catalog, connectors, events, settings)

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
                data = {"approval_ids": [a.id for a in approvals], "level": plan.approval_level}
                session.add(
                    ExecutionEventRow(execution_id=row.id, type="approval_required", data=data)
                )
        if approvals:
            await self.events.publish(Event(row.id, "approval_required", data))
        return row, approvals

    async def approve(
        self,
        approval_id: str,
        actor: str,
        comment: str | None = None,
        *,
        role: Role | None = None,
    ) -> ExecutionRow:
        """Approve; when it was the last pending approval the execution becomes approved.
        `role` is the authenticated caller's; None for a trusted local actor."""
        return await self._decide(approval_id, actor, comment, approved=True, role=role)

    async def deny(
        self, approval_id: str, actor: str, comment: str, *, role: Role | None = None
    ) -> ExecutionRow:
        return await self._decide(approval_id, actor, comment, approved=False, role=role)

    async def _decide(
        self,
        approval_id: str,
        actor: str,
        comment: str | None,
        *,
        approved: bool,
        role: Role | None,
    ) -> ExecutionRow:
        try:
            async with self.db.session() as session:
                approval, execution = await load_for_update(session, approval_id)
                check_can_decide(approval, execution, actor, role)
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
            if approval.status != ApprovalStatus.PENDING:
                return  # decided or expired meanwhile
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

    async def expire_due(self) -> int:
        """Expire every approval past its time, and the executions still waiting on them."""
        async with self.db.session() as session:
            due = await due_for_expiry(session, utcnow())
        for approval in due:
            with contextlib.suppress(NotFound, ApprovalError):
                await self._expire(approval.id, "system")
        return len(due)

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
            execution = await get_execution(session, execution_id)
            await transition(
                session, execution, to=ExecutionState.QUEUED, actor=actor, reason="background mode"
            )

    async def run(self, execution_id: str, worker: str) -> ExecutionResultV1:
        """Claim and run an approved (or queued) execution; a lost claim runs nothing."""
        return await self.runner.run(execution_id, worker)

    async def try_run(self, execution_id: str, worker: str) -> ExecutionResultV1 | None:
        """Like `run`, but None when this worker did not get the execution."""
        return await self.runner.try_run(execution_id, worker)

    async def cancel(self, execution_id: str, actor: str, reason: str) -> ExecutionResultV1:
        """Stop an execution: at once if nothing runs yet, else by asking its worker to stop."""
        return await self.runner.cancel(execution_id, actor, reason)

    async def result(self, execution_id: str) -> ExecutionResultV1:
        return await self.runner.result(execution_id)

    async def queued(self, limit: int = 10) -> list[str]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(ExecutionRow.id)
                .where(ExecutionRow.state == ExecutionState.QUEUED.value)
                .order_by(ExecutionRow.created_at)
                .limit(limit)
            )
            return list(rows)
