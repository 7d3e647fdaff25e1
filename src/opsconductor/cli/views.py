"""How the CLI shows things to a person (Rich); JSON output bypasses this module.

The listings take any object with the fields shown (the query functions' rows), described by
the protocols below, so that the face needs nothing of the store's tables."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Console

if TYPE_CHECKING:
    from opsconductor.pipeline.answer import Answer
    from opsconductor.schemas.execution import ExecutionResultV1


class ExecutionListed(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def approval_level(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def requested_by(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def request_text(self) -> str: ...


class ApprovalListed(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def execution_id(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def step_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def requested_by(self) -> str: ...
    @property
    def decided_by(self) -> str | None: ...
    @property
    def expires_at(self) -> datetime: ...


class AuditListed(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...


_STYLE = {
    "error": "red",
    "clarification": "yellow",
    "approval_request": "cyan",
    "information": "green",
    "execution_result": "green",
}


def show_answer(console: Console, answer: Answer) -> None:
    response = answer.response
    console.print(response.message, style=_STYLE.get(response.type), highlight=False, markup=False)
    preview = response.preview
    if preview is not None and response.type == "approval_request":
        for step in preview.steps:
            kind = "read-only" if step.read_only else "CHANGES"
            console.print(f"  • {step.step_id} [{kind}] {step.summary}", markup=False)
            for command in step.commands[:10]:
                console.print(f"      {command}", style="dim", markup=False)
            if len(step.commands) > 10:
                console.print(f"      … {len(step.commands) - 10} more", style="dim")
    if answer.approval_status == "pending" and answer.approval_ids:
        level = answer.plan.approval_level if answer.plan else 0
        who = "you (or an approver)" if level == 1 else "an approver other than you"
        console.print(f"Waiting for approval by {who}:", style="cyan")
        # Above level 1 the approver proves who they are with their own token.
        prefix = "OPSCONDUCTOR_TOKEN=<their token> " if level >= 2 else ""
        for approval_id in answer.approval_ids:
            console.print(f"  {prefix}opsconductor approvals approve {approval_id}", markup=False)
    if answer.execution_id and answer.response.type != "approval_request":
        console.print(f"execution {answer.execution_id}: {answer.execution_state}", style="dim")
    if answer.execution_state == "queued":
        hint = f"follow it with: opsconductor executions show {answer.execution_id}"
        console.print(hint, style="dim", markup=False)


def show_result(console: Console, result: ExecutionResultV1) -> None:
    console.print(f"Execution {result.execution_id}: {result.status}", style="bold", markup=False)
    if result.worker:
        console.print(f"run by {result.worker}", style="dim", markup=False)
    if result.output:
        console.print(result.output, markup=False, highlight=False)
    if result.error_message:
        console.print(result.error_message, style="red", markup=False)
    rows = [
        {
            "step": s.step_id,
            "target": s.target or "-",
            "status": s.status,
            "exit": "" if s.exit_code is None else str(s.exit_code),
            "seconds": "" if s.duration_seconds is None else f"{s.duration_seconds:.2f}",
            "error": (s.error or "")[:80],
        }
        for s in result.step_results
    ]
    if rows:
        show_table(console, "Steps", rows)


def show_assets(console: Console, rows: list[dict[str, Any]]) -> None:
    keys = ["name", "hostname", "ip_address", "os_type", "device_type", "environment"]
    keys += ["location", "tags", "services"]
    show_table(console, f"{len(rows)} assets", [{k: _text(r.get(k)) for k in keys} for r in rows])


def show_record(console: Console, row: dict[str, Any]) -> None:
    for key, value in row.items():
        console.print(f"{key:>14}: {_text(value)}", markup=False, highlight=False)


def show_table(console: Console, title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"{title}: none.")
        return
    from rich.table import Table  # here: answers and records print no table

    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key)
    for row in rows:
        table.add_row(*(_text(v) for v in row.values()))
    console.print(table)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
    return "" if value is None else str(value)


def execution_row(row: ExecutionListed) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "level": row.approval_level,
        "mode": row.mode,
        "requested_by": row.requested_by,
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "request": row.request_text[:60],
    }


def approval_row(row: ApprovalListed) -> dict[str, Any]:
    return {
        "id": row.id,
        "execution_id": row.execution_id,
        "level": row.level,
        "step": row.step_id or "",
        "status": row.status,
        "requested_by": row.requested_by,
        "decided_by": row.decided_by or "",
        "expires_at": row.expires_at.isoformat(timespec="seconds"),
    }


def audit_row(row: AuditListed) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(timespec="seconds"),
        "actor": row.actor,
        "entity": f"{row.entity_type}:{row.entity_id}",
        "action": row.action,
        "change": f"{row.from_state or ''}→{row.to_state or ''}",
        "reason": (row.reason or "")[:60],
    }
