"""Stage E's service functions: create, decide (approve, deny, cancel, resolve), run and read
executions. Every face (CLI, API, worker) calls these; none of them touches the tables.

Each decision reads what it decides on and writes its outcome in one write transaction (BEGIN
IMMEDIATE on SQLite, row locks on PostgreSQL), so of any number of concurrent decisions on one
execution exactly one wins and the others are refused with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.catalog.loader import Catalog
from opsconductor.config import Settings
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.errors import (
    ApprovalError,
    ApprovalExpired,
    InvalidTransition,
    NotFound,
    PlanChanged,
    SelfApprovalForbidden,
)
from opsconductor.execution import endpoints, leases, recovery
from opsconductor.execution.approvals import (
    ApprovalStatus,
    check_can_decide,
    close_pending,
    due_for_expiry,
    earlier_approvers,
    load_for_update,
    pending_for,
    request_approvals,
    settle_approval,
)
from opsconductor.execution.dispatch import Dispatcher, PollingDispatch
from opsconductor.execution.events import Event, EventBus, store_event
from opsconductor.execution.hostguard import HostGuard
from opsconductor.execution.queries import get_execution
from opsconductor.execution.recovery import Resolution
from opsconductor.execution.runner import Runner
from opsconductor.execution.states import TERMINAL_STATES, ExecutionState
from opsconductor.execution.transactions import Transactions
from opsconductor.execution.transitions import claim_made_here, transition
from opsconductor.identity.models import Role
from opsconductor.schemas.common import Mode
from opsconductor.schemas.decision import DecisionV1
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import ApprovalRow, ExecutionRow, utcnow

logger = logging.getLogger(__name__)

CANCEL_POLL_S = 0.25
CANCEL_WAIT_S = 10.0  # then the answer is the state as it stands: a cancel is never a 500
_NOT_STARTED = {
    ExecutionState.PENDING_APPROVAL,
    ExecutionState.APPROVED,
    ExecutionState.QUEUED,
    ExecutionState.INTERRUPTED,
}


class ExecutionService:
    """Stage E's one entry point for faces, the pipeline and workers: every decision on an
    execution (create, approve, deny, cancel, resolve, expire, take over, queue) is made here,
    each in one transaction. Running a claimed execution is the :class:`Runner`'s job, and only
    this service calls it (`run`, `try_run`, `result` hand over to it)."""

    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        connectors: ConnectorRegistry,
        events: EventBus,
        settings: Settings,
        host_keys: endpoints.HostKeys = endpoints.no_host_keys,
        dispatcher: Dispatcher | None = None,
        hosts: HostGuard | None = None,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.events = events
        self.settings = settings
        self.host_keys = host_keys
        self.dispatcher: Dispatcher = dispatcher or PollingDispatch()
        self.runner = Runner(db, catalog, connectors, events, settings, host_keys, hosts)

    async def create(
        self, *, text: str, decision: DecisionV1, plan: PlanV1, requester: str
    ) -> tuple[ExecutionRow, list[ApprovalRow]]:
        """Record a plan as an execution; pending approval unless its level is 0."""
        async with self.db.session() as session:
            row, approvals, data = await self._record_new(session, text, decision, plan, requester)
        if approvals:
            await self.events.publish(Event(row.id, "approval_required", data))
        return row, approvals

    def runs_whole(self, plan: PlanV1) -> bool:
        """Whether :meth:`create_and_run` may take the plan: level 0, run now, no host."""
        return (
            plan.approval_level == 0
            and plan.mode is not Mode.BACKGROUND
            and not self.runner.touches_hosts(plan)
        )

    async def create_and_run(
        self, *, text: str, decision: DecisionV1, plan: PlanV1, requester: str, worker: str
    ) -> tuple[ExecutionRow, ExecutionResultV1]:
        """Record, claim, run and finish a plan :meth:`runs_whole` takes in one transaction:
        there is no approval to wait for and no effect on a host to announce first, so its
        whole record (the same rows and audit events as created, then claimed and run) commits
        at once. Should the run crash, that transaction is undone and the execution is then
        recorded as failed, with the reason."""
        assert self.runs_whole(plan)
        tx: Transactions | None = None
        try:
            async with self._reads() as reads, self.db.session_written_at_commit() as session:
                row, _, _ = await self._record_new(session, text, decision, plan, requester)
                await claim_made_here(session, row, worker=worker, lease_s=self.lease_s)
                tx = Transactions(self.db, self.events, shared=session, reads=reads)
                result = await self.runner.run_whole(tx, row, plan)
        except Exception as exc:
            logger.exception("execution of %r crashed", text[:200])
            row, _ = await self.create(text=text, decision=decision, plan=plan, requester=requester)
            await self.runner.fail(row.id, worker, f"internal error: {exc}", None)
            return row, await self.result(row.id)
        await tx.release()
        return row, result

    @contextlib.asynccontextmanager
    async def _reads(self) -> AsyncIterator[AsyncSession | None]:
        """Where a run recorded whole reads. On SQLite, a read transaction of its own: its write
        transaction then runs no statement before its commit, so it waits for the one write
        lock only to commit, not while the run queries. On PostgreSQL the run reads in its own
        transaction (no lock to spare, and one pool connection, not two)."""
        if not self.db.is_sqlite:
            yield None
            return
        async with self.db.reader() as reads:
            yield reads

    async def _record_new(
        self,
        session: AsyncSession,
        text: str,
        decision: DecisionV1,
        plan: PlanV1,
        requester: str,
    ) -> tuple[ExecutionRow, list[ApprovalRow], dict[str, Any]]:
        needs_approval = plan.approval_level > 0
        state = ExecutionState.PENDING_APPROVAL if needs_approval else ExecutionState.APPROVED
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
            lease_epoch=0,
            lease_expires_at=None if needs_approval else leases.claim_deadline(self.lease_s),
        )
        session.add(row)
        await record_event(
            session,
            actor=requester,
            entity_type="execution",
            entity_id=row.id,
            action="created",
            to_state=state.value,
            reason=f"request: {text[:200]}",
            details=_created_details(row.plan_hash, plan.approval_level, decision),
        )
        approvals: list[ApprovalRow] = []
        data: dict[str, Any] = {}
        if needs_approval:
            await session.flush()  # the approvals refer to it
            ttl = self.settings.approval_ttl_s.get(plan.approval_level, 3600)
            approvals = await request_approvals(session, row, plan, ttl)
            data = {"approval_ids": [a.id for a in approvals], "level": plan.approval_level}
            store_event(session, row.id, "approval_required", data)
        return row, approvals, data

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
        """One transaction: check, then record the decision, or record why it was refused (an
        expiry or a changed plan also ends the execution) and raise that refusal."""
        async with self.db.session() as session:
            approval, execution = await load_for_update(session, approval_id)
            try:
                check_can_decide(approval, execution, actor, role)
                if approved:
                    await self._check_still_valid(session, approval, execution, actor)
            except ApprovalExpired as expired:
                await self._end_waiting(
                    session,
                    approval,
                    execution,
                    ApprovalStatus.EXPIRED,
                    "decision attempted after expiry",
                    actor=actor,
                )
                refusal: ApprovalError = expired
            except PlanChanged as changed:
                await _audit_refusal(session, approval_id, actor, str(changed))
                await self._end_waiting(
                    session, approval, execution, ApprovalStatus.VOIDED, str(changed), actor=actor
                )
                refusal = changed
            except ApprovalError as refused:
                await _audit_refusal(session, approval_id, actor, str(refused))
                refusal = refused
            else:
                await self._record_decision(session, approval, execution, actor, comment, approved)
                return execution
        raise refusal

    async def _check_still_valid(
        self, session: AsyncSession, approval: ApprovalRow, execution: ExecutionRow, actor: str
    ) -> None:
        """Raise PlanChanged when a target no longer is where the plan was shown to run; at
        level 3 without one approver for all steps, refuse an approver of an earlier step."""
        plan = PlanV1.model_validate(execution.plan)
        if plan.endpoints:
            now = await endpoints.resolve(session, plan.endpoints, self.host_keys)
            changed = endpoints.differences(plan.endpoints, now.endpoints)
            if changed:
                raise PlanChanged(f"the plan changed: {'; '.join(changed)}; ask again")
        distinct = approval.level >= 3 and not self.settings.level3_one_approver_may_approve_all
        if distinct and actor in await earlier_approvers(session, approval):
            raise SelfApprovalForbidden(
                f"{actor} approved an earlier step; this step needs another approver"
            )

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
        approval.comment = comment
        details = {"execution_id": execution.id, "plan_hash": approval.plan_hash}
        await settle_approval(
            session, approval, status, actor=actor, reason=comment, details=details
        )
        await session.flush()
        if not approved:
            reason = comment or "denied"
            await close_pending(
                session,
                execution.id,
                to=ApprovalStatus.WITHDRAWN,
                actor=actor,
                reason=f"denied by {actor}",
            )
            await transition(
                session, execution, to=ExecutionState.REJECTED, actor=actor, reason=reason
            )
        elif not await pending_for(session, execution.id):
            reason = f"approved by {actor} (level {approval.level})"
            await transition(
                session, execution, to=ExecutionState.APPROVED, actor=actor, reason=reason
            )
            execution.lease_expires_at = leases.claim_deadline(self.lease_s)

    async def _end_waiting(
        self,
        session: AsyncSession,
        approval: ApprovalRow,
        execution: ExecutionRow,
        status: ApprovalStatus,
        reason: str,
        *,
        actor: str = "system",
    ) -> None:
        """An approval that can no longer be given (expired, or its plan changed) ends the
        execution waiting on it. `actor` is who found out (the sweeper, or a decider)."""
        if approval.status != ApprovalStatus.PENDING:
            return
        await close_pending(session, execution.id, to=status, actor=actor, reason=reason)
        if execution.state == ExecutionState.PENDING_APPROVAL:
            to = (
                ExecutionState.EXPIRED
                if status is ApprovalStatus.EXPIRED
                else ExecutionState.REJECTED
            )
            await transition(session, execution, to=to, actor="system", reason=reason)

    async def expire_due(self) -> int:
        """Expire every approval past its time, and the executions still waiting on them."""
        async with self.db.reader() as session:
            due = [a.id for a in await due_for_expiry(session, utcnow())]
        for approval_id in due:
            with contextlib.suppress(NotFound):
                async with self.db.session() as session:
                    approval, execution = await load_for_update(session, approval_id)
                    if approval.expires_at <= utcnow():
                        await self._end_waiting(
                            session,
                            approval,
                            execution,
                            ApprovalStatus.EXPIRED,
                            f"approval {approval_id} expired",
                        )
        return len(due)

    @property
    def lease_s(self) -> float:
        return self.settings.lease_s

    async def queue_unclaimed(self, actor: str) -> int:
        """Queue approved executions nobody claimed by their deadline (the process that
        approved them died before it started them)."""
        async with self.db.reader() as session:
            due = await leases.overdue(session, ExecutionState.APPROVED, utcnow())
        queued = 0
        for execution_id in due:
            async with self.db.session() as session:
                execution = await get_execution(session, execution_id, for_update=True)
                deadline = execution.lease_expires_at
                if (
                    execution.state != ExecutionState.APPROVED
                    or not deadline
                    or deadline > utcnow()
                ):
                    continue
                reason = "approved but not started by the process that approved it"
                await transition(
                    session, execution, to=ExecutionState.QUEUED, actor=actor, reason=reason
                )
                self._await_claim(execution)
            queued += 1
            await self._announce(execution_id)
        return queued

    async def take_over_expired(self, worker: str) -> int:
        """Take every running execution whose lease ran out (its worker died or stalled)."""
        async with self.db.reader() as session:
            due = await leases.overdue(session, ExecutionState.RUNNING, utcnow())
        taken = 0
        for execution_id in due:
            if execution_id in self.runner.active:
                continue  # this process still runs it: its keeper renews once the store answers
            async with self.db.session() as session:
                state = await recovery.take_over(session, execution_id, worker)
                if state is ExecutionState.QUEUED:
                    self._await_claim(await get_execution(session, execution_id))
            if state is ExecutionState.QUEUED:
                await self._announce(execution_id)
            if state is not None:
                taken += 1
                logger.warning("took over %s from a stopped worker: now %s", execution_id, state)
                await self.events.publish(Event(execution_id, "progress", {"state": state.value}))
        return taken

    async def resolve(
        self,
        execution_id: str,
        decision: Resolution,
        actor: str,
        *,
        role: Role | None = None,
        dispatch: bool = True,
    ) -> ExecutionRow:
        """Retry, skip or abort an interrupted execution (audited, with who decided). Retry
        and skip queue it: for the workers, unless `dispatch` is False (the caller runs it)."""
        refusal: ApprovalError | InvalidTransition | None = None
        async with self.db.session() as session:
            try:
                execution = await recovery.resolve(
                    session, execution_id, decision, actor=actor, role=role
                )
                if execution.state == ExecutionState.QUEUED:
                    self._await_claim(execution)
            except (ApprovalError, InvalidTransition) as refused:
                refusal = refused
                await _audit_refusal(
                    session,
                    execution_id,
                    actor,
                    str(refused),
                    entity_type="execution",
                    action="resolve_refused",
                )
        if refusal is not None:
            raise refusal
        if dispatch and execution.state == ExecutionState.QUEUED:
            await self._announce(execution_id)
        await self.events.publish(Event(execution_id, "progress", {"state": execution.state}))
        return execution

    async def enqueue(self, execution_id: str, actor: str, *, dispatch: bool = True) -> None:
        """Hand an approved execution to the background workers; with `dispatch` False the
        caller runs it itself (it is queued only so that it shows as waiting, and so that a
        worker takes it up should the caller die before claiming it)."""
        async with self.db.session() as session:
            execution = await get_execution(session, execution_id, for_update=True)
            await transition(
                session, execution, to=ExecutionState.QUEUED, actor=actor, reason="background mode"
            )
            self._await_claim(execution)
        if dispatch:
            await self._announce(execution_id)

    def _await_claim(self, execution: ExecutionRow) -> None:
        """A queued execution's claim deadline: its message was sent (after this commit) and a
        worker should claim it by then, else the sweeper sends it again. Set in the transaction
        that queues it, so that the sweeper never sends at once what was just sent."""
        execution.lease_expires_at = leases.claim_deadline(self.settings.queue_resend_s)

    async def _announce(self, execution_id: str) -> None:
        """Tell the workers, after the commit; a failure to send loses nothing (the store has
        it queued, and the sweeper sends it again after its claim deadline)."""
        try:
            await self.dispatcher.send(execution_id)
        except Exception as exc:
            logger.warning("could not announce execution %s to the workers: %s", execution_id, exc)

    async def resend_unsent(self, limit: int = 500) -> int:
        """Send again every queued execution that no worker claimed by its claim deadline: its
        message was lost (the sender died between commit and send, or Redis restarted empty).
        The deadline moves on by compare-and-set first, so that of several sweepers one sends.
        Nothing to do when workers poll the store."""
        if not self.dispatcher.live:
            return 0
        now = utcnow()
        unsent = (ExecutionRow.state == ExecutionState.QUEUED.value) & or_(
            ExecutionRow.lease_expires_at.is_(None), ExecutionRow.lease_expires_at < now
        )
        async with self.db.reader() as session:
            due = list(
                await session.scalars(
                    select(ExecutionRow.id)
                    .where(unsent)
                    .order_by(ExecutionRow.created_at)
                    .limit(limit)
                )
            )
        sent = 0
        for execution_id in due:
            async with self.db.session() as session:
                moved = await session.execute(
                    update(ExecutionRow)
                    .where(ExecutionRow.id == execution_id)
                    .where(unsent)
                    .values(lease_expires_at=leases.claim_deadline(self.settings.queue_resend_s))
                    .execution_options(synchronize_session=False)
                )
            if getattr(moved, "rowcount", 0) == 1:
                await self._announce(execution_id)
                sent += 1
        return sent

    async def run(self, execution_id: str, worker: str) -> ExecutionResultV1:
        """Claim and run an approved (or queued) execution; a lost claim runs nothing. Either
        way, the execution's result as it stands."""
        return await self.runner.try_run(execution_id, worker) or await self.result(execution_id)

    async def try_run(self, execution_id: str, worker: str) -> ExecutionResultV1 | None:
        """Like `run`, but None when this worker did not get the execution."""
        return await self.runner.try_run(execution_id, worker)

    async def cancel(self, execution_id: str, actor: str, reason: str) -> ExecutionResultV1:
        """Stop an execution: at once if nothing runs now, else by asking its worker to stop
        (whichever process runs it); answers within CANCEL_WAIT_S with the state it reached."""
        async with self.db.session() as session:
            execution = await get_execution(session, execution_id, for_update=True)
            state = ExecutionState(execution.state)
            if state in TERMINAL_STATES:
                raise InvalidTransition(f"execution {execution_id} has already ended: {state}")
            if state in _NOT_STARTED:
                await recovery.cancel_unfinished(
                    session, execution_id, actor=actor, reason=f"cancelled: {reason}"
                )
                await close_pending(
                    session,
                    execution_id,
                    to=ApprovalStatus.WITHDRAWN,
                    actor=actor,
                    reason=f"execution cancelled: {reason}",
                )
                await transition(
                    session, execution, to=ExecutionState.CANCELLED, actor=actor, reason=reason
                )
            elif execution.cancel_requested_at is None:
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
        self.runner.stop_locally(execution_id)
        return await self._wait_for_end(execution_id)

    async def _wait_for_end(self, execution_id: str) -> ExecutionResultV1:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CANCEL_WAIT_S):
                while True:
                    result = await self.result(execution_id)
                    if ExecutionState(result.status) in TERMINAL_STATES:
                        return result
                    await asyncio.sleep(CANCEL_POLL_S)
        return await self.result(execution_id)

    async def result(self, execution_id: str) -> ExecutionResultV1:
        return await self.runner.result(execution_id)

    async def queued(self, limit: int = 10) -> list[str]:
        async with self.db.reader() as session:
            rows = await session.scalars(
                select(ExecutionRow.id)
                .where(ExecutionRow.state == ExecutionState.QUEUED.value)
                .order_by(ExecutionRow.created_at)
                .limit(limit)
            )
            return list(rows)


async def _audit_refusal(
    session: AsyncSession,
    entity_id: str,
    actor: str,
    why: str,
    *,
    entity_type: str = "approval",
    action: str = "decision_refused",
) -> None:
    await record_event(
        session,
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        reason=why,
    )


def _created_details(plan_hash: str, level: int, decision: DecisionV1) -> dict[str, Any]:
    """The audit details of a created execution: with a model's proposal, its model, prompt
    version and raw arguments, so a reviewer sees what the model said beside what was planned."""
    details: dict[str, Any] = {"plan_hash": plan_hash, "approval_level": level}
    if decision.proposed_by is not None:
        details["model_proposal"] = decision.proposed_by.model_dump(mode="json")
    return details
