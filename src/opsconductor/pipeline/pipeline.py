"""The pipeline: a request's text in, its answer out. Stages A to D understand, select, plan
and preview it; stage E (through the execution service) records, approves and runs it."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from opsconductor.brain.base import Brain, Context
from opsconductor.brain.index import AssetKey, InventoryIndex
from opsconductor.catalog.loader import Catalog
from opsconductor.config import Settings
from opsconductor.errors import ValidationFailed
from opsconductor.execution import endpoints
from opsconductor.execution.recovery import Resolution
from opsconductor.execution.service import ExecutionService
from opsconductor.execution.states import ExecutionState
from opsconductor.identity.models import Role
from opsconductor.inventory import repository
from opsconductor.notifications.webhook import ApprovalNotice, WebhookNotifier
from opsconductor.pipeline import conversations, stage_a, stage_b, stage_c, stage_d
from opsconductor.pipeline.answer import Answer
from opsconductor.schemas.answer import AnswerApprovalStatus
from opsconductor.schemas.common import Mode
from opsconductor.schemas.decision import Clarification, DecisionV1
from opsconductor.schemas.execution import ExecutionResultV1
from opsconductor.schemas.plan import PlanV1
from opsconductor.schemas.response import ResponseType, ResponseV1
from opsconductor.store.database import Database
from opsconductor.store.revision import InventoryRevision

if TYPE_CHECKING:
    from opsconductor.brain.index_file import IndexFile

# More actions than this in one request is refused rather than planned: nobody reviews a
# preview of a hundred steps, and each clause is a step the approver must read.
MAX_CLAUSES = 20


class Pipeline:
    """Answers requests against the live inventory and catalog. Every answer's public form is
    :meth:`Answer.to_answer` (`AnswerV1`)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        catalog: Catalog,
        brain: Brain,
        executions: ExecutionService,
        notifier: WebhookNotifier | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.brain = brain
        self.executions = executions
        self.notifier = notifier
        self._index: InventoryIndex | None = None
        self._index_key: InventoryRevision | None = None
        # One rebuild at a time: concurrent first requests wait for it rather than each
        # reading the whole inventory.
        self._index_lock = asyncio.Lock()
        self.index_builds = 0  # indexes built from the store's rows (not from index_file)
        # Where the index's assets are kept between processes (the command line sets it).
        self.index_file: IndexFile | None = None

    async def index(self) -> InventoryIndex:
        """The inventory index, rebuilt only when the inventory's revision changed."""
        async with self.db.reader() as session:
            key = await repository.inventory_fingerprint(session)
        if self._index is not None and key == self._index_key:
            return self._index
        async with self._index_lock:
            if self._index is None or key != self._index_key:  # not built while this waited
                self._index, self._index_key = await self._built_index()
            return self._index

    async def _built_index(self) -> tuple[InventoryIndex, InventoryRevision]:
        """The index of the inventory as it is now, and its revision: from `index_file` when
        that holds this revision, else from the store's rows (and then kept in the file)."""
        async with self.db.reader() as session:
            key = await repository.inventory_fingerprint(session)
            kept = self.index_file.load(key.store_id, key.number) if self.index_file else None
            if kept is not None:
                return InventoryIndex(kept), key
            rows = await repository.asset_index_rows(session)
            facts = await repository.index_facts(session)
            assets = [_asset_key(row, facts) for row in rows]
            self.index_builds += 1
            # On PostgreSQL the rows may be newer than the key read before them: such an index
            # serves under the older key here (the next request sees the newer key and
            # rebuilds), but is not kept for other processes, which would trust the key.
            if self.index_file and await repository.inventory_fingerprint(session) == key:
                self.index_file.save(key.store_id, key.number, assets)
        return InventoryIndex(assets), key

    async def plan(self, text: str, context: Context | None = None) -> Answer:
        """Stages A to D: understand (with the conversation's `context`), select, plan and
        preview, with nothing recorded or run."""
        answer = await self._plan(text, context)
        answer.response = _said_as_read(answer, answer.response)
        return answer

    async def _plan(self, text: str, context: Context | None) -> Answer:
        problem = stage_a.check_request(text, self.settings.max_request_chars)
        if problem:
            return Answer(request=str(text)[:200], response=stage_d.error(problem))
        index = await self.index()
        decision = await stage_a.understand(self.brain, str(uuid.uuid4()), text, index, context)
        if decision.clarification is not None:
            return Answer(text, stage_d.clarify(decision.clarification), decision)
        clauses = len(decision.all_clauses())
        if clauses > MAX_CLAUSES:
            message = (
                f"The request asks for {clauses} actions; ask for at most {MAX_CLAUSES} "
                "in one request."
            )
            return Answer(text, stage_d.error(message), decision)
        return await self._plan_decided(text, decision, index)

    async def _plan_decided(self, text: str, decision: DecisionV1, index: InventoryIndex) -> Answer:
        """Stages B to D for an understood request."""
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
            # Said of a preview (a plan, a dry run) as much as of a run: never "running".
            response = ResponseV1(
                type=ResponseType.INFORMATION,
                message=f"No approval needed: {response.message}",
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
        conversation_id: str | None = None,
    ) -> Answer:
        """The whole pipeline. Level 0 runs at once; level 1 runs when `confirm` is given by the
        requester; level 2 and 3 wait for somebody else's approval. `role` is the authenticated
        requester's (None for a trusted local actor). With a `conversation_id` the request is
        read in the context of the requester's earlier turns of that conversation."""
        answer = await self._in_conversation(text, requester, conversation_id)
        if answer.plan is None or dry_run:
            return answer
        return await self._record_and_start(answer, requester, confirm, wait, role)

    async def ask_decided(
        self,
        text: str,
        decision: DecisionV1,
        *,
        requester: str,
        confirm: bool = False,
        wait: bool = True,
        role: Role | None = None,
    ) -> Answer:
        """A request a service has already understood (discovery's `collect_facts` over the
        assets it chose), without a brain: selected, planned, previewed, recorded, approved
        and run exactly as :meth:`ask` does."""
        answer = await self._plan_decided(text, decision, await self.index())
        if answer.plan is None:
            return answer
        return await self._record_and_start(answer, requester, confirm, wait, role)

    async def _record_and_start(
        self, answer: Answer, requester: str, confirm: bool, wait: bool, role: Role | None
    ) -> Answer:
        text = answer.request
        assert answer.decision is not None and answer.plan is not None
        if wait and self.executions.runs_whole(answer.plan):
            row, result = await self.executions.create_and_run(
                text=text,
                decision=answer.decision,
                plan=answer.plan,
                requester=requester,
                worker=f"inline:{requester}",
            )
            answer.execution_id = row.id
            return self._answered(answer, result)
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

    async def _in_conversation(
        self, text: str, requester: str, conversation_id: str | None
    ) -> Answer:
        if conversation_id is None:
            return await self.plan(text)
        ttl = self.settings.conversation_ttl_s
        async with self.db.reader() as session:
            before = await conversations.load(session, requester, conversation_id, ttl)
        answer = await self.plan(text, before)
        answer.conversation_id = conversation_id
        after = conversations.after_turn(before, text, answer.decision)
        async with self.db.session() as session:
            await conversations.save(session, requester, conversation_id, after)
        return answer

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
        execution = await self.executions.resolve(
            execution_id, decision, actor, role=role, dispatch=not wait
        )
        if wait and execution.state == ExecutionState.QUEUED:
            return await self.executions.run(execution_id, worker=f"inline:{actor}")
        return await self.executions.result(execution_id)

    async def _start(self, answer: Answer, actor: str, *, wait: bool) -> Answer:
        assert answer.plan is not None and answer.execution_id is not None
        if answer.plan.mode is Mode.BACKGROUND:
            # Waiting, the caller runs it here: no worker is told (one takes it up by its claim
            # deadline should this process die first).
            await self.executions.enqueue(answer.execution_id, actor, dispatch=not wait)
            answer.execution_state = "queued"
            if not wait:
                answer.response = ResponseV1(
                    type=ResponseType.INFORMATION,
                    message=f"Queued as {answer.execution_id}; a worker runs it.",
                )
                return answer
        result = await self.executions.run(answer.execution_id, worker=f"inline:{actor}")
        return self._answered(answer, result)

    def _answered(self, answer: Answer, result: ExecutionResultV1) -> Answer:
        answer.result = result
        answer.execution_state = result.status
        kind = (
            ResponseType.INFORMATION
            if all(not s.target for s in result.step_results)
            else ResponseType.EXECUTION_RESULT
        )
        message = result.output or result.error_message or f"Execution {result.status}."
        answer.response = _said_as_read(answer, ResponseV1(type=kind, message=message))
        return answer


def _said_as_read(answer: Answer, response: ResponseV1) -> ResponseV1:
    """The response, opening with how the request was read when context filled in a part of
    it: said first, so the person sees what was filled in before anything else."""
    read_as = answer.decision.read_as if answer.decision is not None else None
    if not read_as or response.message.startswith("I read this as:"):
        return response
    return response.model_copy(update={"message": f"I read this as: {read_as} {response.message}"})


def _asset_key(row: tuple[Any, ...], facts: dict[str, dict[str, Any]]) -> AssetKey:
    name, host, ip, os_type, device, env, tags, location, services, owner = row
    return AssetKey(
        name,
        host,
        ip,
        os_type,
        device,
        env,
        tuple(tags or ()),
        location,
        tuple(services or ()),
        owner,
        facts.get(name),
    )
