"""Runs a request through stages A to E: the one entry point every face calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsconductor.brain.base import Brain
from opsconductor.brain.index import AssetKey, InventoryIndex
from opsconductor.brain.rules import RulesBrain
from opsconductor.catalog.loader import Catalog, load_catalog
from opsconductor.config import Settings
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.connectors.wiring import connector_registry
from opsconductor.errors import ValidationFailed
from opsconductor.execution import endpoints
from opsconductor.execution.events import EventBus, InProcessEventBus
from opsconductor.execution.recovery import Resolution
from opsconductor.execution.service import ExecutionService
from opsconductor.execution.states import ExecutionState
from opsconductor.identity.models import Role
from opsconductor.inventory import repository
from opsconductor.notifications.webhook import ApprovalNotice, WebhookNotifier
from opsconductor.pipeline import stage_a, stage_b, stage_c, stage_d
from opsconductor.schemas.answer import (
    AnswerApproval,
    AnswerApprovalStatus,
    AnswerDecision,
    AnswerEntity,
    AnswerExecution,
    AnswerPlan,
    AnswerResponse,
    AnswerStep,
    AnswerV1,
    NoResult,
)
from opsconductor.schemas.common import Mode
from opsconductor.schemas.decision import Clarification, DecisionV1
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanV1
from opsconductor.schemas.response import ResponseType, ResponseV1
from opsconductor.store.database import Database


@dataclass
class Answer:
    """Everything one request produced, stage by stage, as the pipeline holds it;
    :meth:`to_answer` is the reply contract (`AnswerV1`)."""

    request: str
    response: ResponseV1
    decision: DecisionV1 | None = None
    plan: PlanV1 | None = None
    execution_id: str | None = None
    execution_state: str | None = None
    result: ExecutionResultV1 | None = None
    approval_ids: list[str] = field(default_factory=list)
    approval_status: AnswerApprovalStatus = AnswerApprovalStatus.NOT_REQUIRED

    def to_answer(self) -> AnswerV1:
        """The reply contract every face returns."""
        level = self.plan.approval_level if self.plan else 0
        execution = None
        if self.execution_id:
            result = self.result if self.result is not None else NoResult()
            execution = AnswerExecution(
                id=self.execution_id, status=self.execution_state, result=result
            )
        return AnswerV1(
            request=self.request,
            decision=_answer_decision(self.decision) if self.decision else None,
            plan=_answer_plan(self.plan) if self.plan else None,
            approval=AnswerApproval(
                level=level,
                required=level > 0,
                status=self.approval_status,
                ids=self.approval_ids,
            ),
            mode=self.plan.mode if self.plan else Mode.IMMEDIATE,
            execution=execution,
            response=AnswerResponse(type=self.response.type, message=self.response.message),
        )

    def to_document(self) -> dict[str, Any]:
        """`to_answer()` as JSON-ready data."""
        return self.to_answer().model_dump(mode="json")


def _answer_decision(decision: DecisionV1) -> AnswerDecision:
    return AnswerDecision(
        intent=decision.intent,
        entities=[AnswerEntity(type=e.type, value=e.value) for e in decision.entities],
        risk_level=decision.risk_level,
        confidence=decision.confidence,
        kind=decision.kind,
        clarification=decision.clarification,
        reasons=decision.reasons,
    )


def _answer_plan(plan: PlanV1) -> AnswerPlan:
    steps = [
        AnswerStep(
            id=s.id, tool=s.tool, targets=s.targets, inputs=s.inputs, depends_on=s.depends_on
        )
        for s in plan.steps
    ]
    return AnswerPlan(id=plan.id, hash=plan.content_hash(), steps=steps, estimate_s=plan.estimate_s)


class Conductor:
    """Holds the catalog, the brain, the store and the execution service of one process."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        catalog: Catalog,
        brain: Brain,
        events: EventBus,
        connectors: ConnectorRegistry,
        notifier: WebhookNotifier | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.brain = brain
        self.events = events
        self.executions = ExecutionService(
            db,
            catalog,
            connectors,
            events,
            settings,
            endpoints.known_host_keys(settings.known_hosts_file),
        )
        self.notifier = notifier
        self._index: InventoryIndex | None = None
        self._index_key: tuple[int, datetime | None] | None = None

    @classmethod
    async def open(cls, settings: Settings, events: EventBus | None = None) -> Conductor:
        catalog = load_catalog(settings.catalog_dirs)
        db = await Database.connect(settings)
        connectors = connector_registry(settings, db)
        return cls(
            settings,
            db,
            catalog,
            RulesBrain(catalog),
            events or InProcessEventBus(),
            connectors,
            WebhookNotifier.from_settings(settings, db),
        )

    async def close(self) -> None:
        if self.notifier is not None:
            await self.notifier.aclose()  # notices in flight still need the store to audit
        await self.db.close()

    async def index(self) -> InventoryIndex:
        """The inventory index, rebuilt only when the inventory changed."""
        async with self.db.session() as session:
            key = await repository.inventory_fingerprint(session)
            if self._index is None or key != self._index_key:
                rows = await repository.asset_index_rows(session)
                self._index = InventoryIndex(
                    AssetKey(name, host, ip, os_type, device, env, tuple(tags or ()))
                    for name, host, ip, os_type, device, env, tags in rows
                )
                self._index_key = key
        return self._index

    async def plan(self, text: str) -> Answer:
        """Stages A to D: understand, select, plan and preview, with nothing recorded or run."""
        problem = stage_a.check_request(text, self.settings.max_request_chars)
        if problem:
            return Answer(request=str(text)[:200], response=stage_d.error(problem))
        index = await self.index()
        decision = stage_a.understand(self.brain, str(uuid.uuid4()), text, index)
        if decision.clarification is not None:
            return Answer(text, stage_d.clarify(decision.clarification), decision)
        selection = stage_b.select_tools(decision, self.catalog, index)
        if not selection.tools:
            skipped = "; ".join(f"{k}: {v}" for k, v in selection.skipped_targets.items())
            clarification = Clarification(
                reason="no_target", question=f"Nothing can run there: {skipped}."
            )
            return Answer(text, stage_d.clarify(clarification), decision)
        try:
            planned = stage_c.build_plan(
                decision,
                selection,
                self.catalog,
                index,
                concurrency=self.settings.global_concurrency,
                immediate_threshold_s=self.settings.immediate_threshold_s,
            )
        except ValidationFailed as exc:
            return Answer(text, stage_d.error(f"I can't run that safely: {exc}"), decision)
        if isinstance(planned, Clarification):
            return Answer(text, stage_d.clarify(planned), decision)
        planned = await self._bind_endpoints(planned)
        response = stage_d.approval_request(planned, self.catalog, index)
        if planned.approval_level == 0:
            response = ResponseV1(
                type=ResponseType.INFORMATION,
                message=f"Running: {response.message}",
                preview=response.preview,
            )
        return Answer(text, response, decision, planned)

    async def _bind_endpoints(self, plan: PlanV1) -> PlanV1:
        """Put where each host target runs into the plan, so its hash (and any approval of it)
        covers the machines and not only their names."""
        names = endpoints.host_targets(plan, lambda tool: self.catalog.get(tool).runs_on_hosts)
        if not names:
            return plan
        async with self.db.reader() as session:
            resolved = await endpoints.resolve(session, names, self.executions.host_keys)
        return plan.model_copy(update={"endpoints": resolved.endpoints})

    async def ask(
        self,
        text: str,
        *,
        requester: str,
        dry_run: bool = False,
        confirm: bool = False,
        wait: bool = True,
        role: Role | None = None,
    ) -> Answer:
        """The whole pipeline. Level 0 runs at once; level 1 runs when `confirm` is given by the
        requester; level 2 and 3 wait for somebody else's approval. `role` is the authenticated
        requester's (None for a trusted local actor)."""
        answer = await self.plan(text)
        if answer.plan is None or dry_run:
            return answer
        assert answer.decision is not None
        row, approvals = await self.executions.create(
            text=text, decision=answer.decision, plan=answer.plan, requester=requester
        )
        answer.execution_id = row.id
        answer.execution_state = row.state
        answer.approval_ids = [a.id for a in approvals]
        if approvals:
            answer.approval_status = AnswerApprovalStatus.PENDING
            if not (confirm and answer.plan.approval_level == 1):
                self._notify_approvers(answer, requester)
                return answer
            await self.executions.approve(
                approvals[0].id, requester, "confirmed by requester", role=role
            )
            answer.approval_status = AnswerApprovalStatus.APPROVED
        return await self._start(answer, requester, wait=wait)

    def _notify_approvers(self, answer: Answer, requester: str) -> None:
        """Tell the approvers (webhook, in the background) that a plan waits for them."""
        if self.notifier is None or answer.plan is None or answer.execution_id is None:
            return
        notice = ApprovalNotice(
            execution_id=answer.execution_id,
            approval_ids=tuple(answer.approval_ids),
            level=answer.plan.approval_level,
            requested_by=requester,
            request_text=answer.request,
            summary=answer.response.message,
        )
        self.notifier.notify(notice)

    async def approve(
        self,
        approval_id: str,
        actor: str,
        *,
        comment: str | None = None,
        wait: bool = True,
        role: Role | None = None,
    ) -> Answer:
        """Approve, and start the execution when that was the last approval it needed."""
        execution = await self.executions.approve(approval_id, actor, comment, role=role)
        answer = Answer(
            request=execution.request_text,
            response=ResponseV1(type=ResponseType.INFORMATION, message="Approved."),
            plan=PlanV1.model_validate(execution.plan),
            execution_id=execution.id,
            execution_state=execution.state,
            approval_status=(
                AnswerApprovalStatus.APPROVED
                if execution.state == ExecutionState.APPROVED
                else AnswerApprovalStatus.PENDING
            ),
        )
        if execution.state != "approved":
            answer.response = ResponseV1(
                type=ResponseType.INFORMATION, message="Approved; more approvals are still needed."
            )
            return answer
        return await self._start(answer, actor, wait=wait)

    async def resolve(
        self,
        execution_id: str,
        decision: Resolution,
        actor: str,
        *,
        role: Role | None = None,
        wait: bool = True,
    ) -> ExecutionResultV1:
        """Retry, skip or abort an interrupted execution; with `wait`, run what retry and skip
        queued here and now (else a worker picks it up)."""
        execution = await self.executions.resolve(execution_id, decision, actor, role=role)
        if wait and execution.state == ExecutionState.QUEUED:
            return await self.executions.run(execution_id, worker=f"inline:{actor}")
        return await self.executions.result(execution_id)

    async def _start(self, answer: Answer, actor: str, *, wait: bool) -> Answer:
        assert answer.plan is not None and answer.execution_id is not None
        if answer.plan.mode is Mode.BACKGROUND:
            await self.executions.enqueue(answer.execution_id, actor)
            answer.execution_state = "queued"
            if not wait:
                answer.response = ResponseV1(
                    type=ResponseType.INFORMATION,
                    message=f"Queued as {answer.execution_id}; a worker runs it.",
                )
                return answer
        result = await self.executions.run(answer.execution_id, worker=f"inline:{actor}")
        answer.result = result
        answer.execution_state = result.status
        kind = (
            ResponseType.INFORMATION
            if all(not s.target for s in result.step_results)
            else ResponseType.EXECUTION_RESULT
        )
        message = result.output or result.error_message or f"Execution {result.status}."
        answer.response = ResponseV1(type=kind, message=message)
        return answer
