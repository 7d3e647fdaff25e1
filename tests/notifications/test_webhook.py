"""The approval webhook against a real HTTP receiver on the loopback: what it says, that it is
audited, and that a slow or broken receiver never gets in the way of asking."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.config import load_settings
from opsconductor.notifications.webhook import (
    ApprovalNotice,
    WebhookNotifier,
    approval_message,
)
from opsconductor.store.tables import AuditEventRow

SECRET_PATH = "/hooks/T000/B000/s3cr3t-part"


@dataclass
class Receiver:
    """A minimal HTTP/1.1 server: records each POST body and answers with `status`."""

    status: int = 200
    hang: bool = False  # accept and read, never answer
    held: asyncio.Event | None = None  # when set up, answer only once it is set
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SECRET_PATH}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.headers.append({"request-line": lines[0], **headers})
            self.bodies.append(json.loads(body))
            if self.hang:
                await asyncio.sleep(3600)
            if self.held is not None:
                await self.held.wait()
            reason = "OK" if self.status < 400 else "Error"
            writer.write(
                f"HTTP/1.1 {self.status} {reason}\r\nContent-Length: 2\r\n"
                "Connection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.handlers.discard(task)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()
        for task in list(found.handlers):
            task.cancel()
        await asyncio.gather(*found.handlers, return_exceptions=True)
        await server.wait_closed()


async def open_conductor(tmp_path: Path, url: str | None) -> OpsConductor:
    settings = load_settings(
        home=tmp_path / "home",
        approval_webhook_url=url,
        public_url="https://ops.example.com/",
        embedded_worker=False,
    )
    conductor = await OpsConductor.open(settings)
    await seed(conductor, FLEET)
    return conductor


async def webhook_audit(conductor: OpsConductor) -> list[AuditEventRow]:
    async with conductor.db.session() as session:
        rows = await session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.action.in_(["webhook_sent", "webhook_failed"]))
            .order_by(AuditEventRow.id)
        )
        return list(rows)


async def test_pending_approval_posts_a_slack_message(tmp_path: Path, receiver: Receiver) -> None:
    conductor = await open_conductor(tmp_path, receiver.url)
    try:
        answer = await conductor.pipeline.ask(
            "restart service nginx on web-prod-02", requester="olga"
        )
        assert conductor.notifier is not None
        await conductor.notifier.wait()
        audit = await webhook_audit(conductor)
    finally:
        await conductor.close()
    assert answer.approval_status == "pending" and answer.execution_id
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert receiver.headers[0]["request-line"] == f"POST {SECRET_PATH} HTTP/1.1"
    assert receiver.headers[0]["content-type"] == "application/json"
    assert body["text"] == (
        "Approval needed (level 1: confirmation by the requester).\n"
        "olga asked: restart service nginx on web-prod-02\n"
        f"{answer.response.message}\n"
        "Review: https://ops.example.com/api/v1/approvals?status=pending"
    )
    assert "web-prod-02" in answer.response.message  # the preview names the host
    assert body["execution_id"] == answer.execution_id
    assert body["approval_ids"] == answer.approval_ids
    assert body["level"] == 1 and body["requested_by"] == "olga"
    assert [(a.action, a.entity_id, a.actor) for a in audit] == [
        ("webhook_sent", answer.execution_id, "system")
    ]
    assert audit[0].details == {
        "host": "127.0.0.1",
        "attempts": 1,
        "status_code": 200,
        "approval_ids": answer.approval_ids,
    }
    assert SECRET_PATH not in json.dumps(audit[0].details)


async def test_nothing_is_sent_without_pending_approval(tmp_path: Path, receiver: Receiver) -> None:
    conductor = await open_conductor(tmp_path, receiver.url)
    try:
        counted = await conductor.pipeline.ask("how many assets do we have", requester="olga")
        confirmed = await conductor.pipeline.ask(
            "check disk space on ops-console", requester="olga", confirm=True
        )
        assert conductor.notifier is not None
        await conductor.notifier.wait()
    finally:
        await conductor.close()
    assert counted.execution_state == "succeeded"
    assert confirmed.execution_state == "succeeded"  # confirmed at once: nobody to tell
    assert receiver.bodies == []


async def test_failing_webhook_is_retried_audited_and_never_breaks_asking(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = 503
    conductor = await open_conductor(tmp_path, receiver.url)
    assert conductor.notifier is not None
    conductor.notifier.backoff_s = 0.01
    try:
        with caplog.at_level(logging.WARNING, logger="opsconductor.notifications.webhook"):
            answer = await conductor.pipeline.ask(
                "restart service nginx on web-prod-02", requester="olga"
            )
            await conductor.notifier.wait()
        audit = await webhook_audit(conductor)
    finally:
        await conductor.close()
    assert answer.approval_status == "pending" and answer.execution_state == "pending_approval"
    assert len(receiver.bodies) == 3  # one try and two retries
    assert [a.action for a in audit] == ["webhook_failed"]
    assert audit[0].reason == "HTTP 503"
    assert audit[0].details["attempts"] == 3 and audit[0].details["status_code"] == 503
    assert "approval webhook to 127.0.0.1 failed after 3 attempt(s): HTTP 503" in caplog.text
    assert "s3cr3t" not in caplog.text


async def test_client_errors_are_not_retried(tmp_path: Path, receiver: Receiver) -> None:
    receiver.status = 404
    conductor = await open_conductor(tmp_path, receiver.url)
    try:
        assert conductor.notifier is not None
        await conductor.pipeline.ask("restart service nginx on web-prod-02", requester="olga")
        await conductor.notifier.wait()
        audit = await webhook_audit(conductor)
    finally:
        await conductor.close()
    assert len(receiver.bodies) == 1
    assert audit[0].action == "webhook_failed" and audit[0].details["attempts"] == 1


async def test_a_slow_receiver_does_not_hold_up_the_asker(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.held = asyncio.Event()
    conductor = await open_conductor(tmp_path, receiver.url)
    assert conductor.notifier is not None
    try:
        async with asyncio.timeout(30):  # were the asker waiting for the receiver: stuck
            answer = await conductor.pipeline.ask(
                "restart service nginx on web-prod-02", requester="olga"
            )
        audit_while_held = await webhook_audit(conductor)
        receiver.held.set()
        await conductor.notifier.wait()
        audit = await webhook_audit(conductor)
    finally:
        await conductor.close()
    assert answer.approval_status == "pending"
    assert audit_while_held == []
    assert [a.action for a in audit] == ["webhook_sent"]


async def test_a_receiver_that_never_answers_times_out(tmp_path: Path, receiver: Receiver) -> None:
    receiver.hang = True
    conductor = await open_conductor(tmp_path, receiver.url)
    assert conductor.notifier is not None
    conductor.notifier.timeout_s = 0.3
    conductor.notifier.backoff_s = 0.01
    try:
        answer = await conductor.pipeline.ask(
            "restart service nginx on web-prod-02", requester="olga"
        )
        await conductor.notifier.wait()
        audit = await webhook_audit(conductor)
    finally:
        await conductor.close()
    assert answer.approval_status == "pending"
    assert len(receiver.bodies) == 3
    assert [a.reason for a in audit] == ["ReadTimeout"]
    assert audit[0].details["attempts"] == 3


async def test_unreachable_receiver_is_audited_when_the_conductor_closes(tmp_path: Path) -> None:
    # Nothing listens on port 1 of the loopback: connection refused, at once, three times.
    conductor = await open_conductor(tmp_path, f"http://127.0.0.1:1{SECRET_PATH}")
    assert conductor.notifier is not None
    conductor.notifier.backoff_s = 0.01
    answer = await conductor.pipeline.ask("restart service nginx on web-prod-02", requester="olga")
    await conductor.close()  # waits for the notice in flight
    reopened = await OpsConductor.open(conductor.settings)
    try:
        audit = await webhook_audit(reopened)
    finally:
        await reopened.close()
    assert answer.approval_status == "pending"
    assert [(a.action, a.reason) for a in audit] == [("webhook_failed", "ConnectError")]


async def test_no_url_means_no_notifier(tmp_path: Path) -> None:
    conductor = await open_conductor(tmp_path, None)
    try:
        assert conductor.notifier is None
        answer = await conductor.pipeline.ask(
            "restart service nginx on web-prod-02", requester="olga"
        )
    finally:
        await conductor.close()
    assert answer.approval_status == "pending"


def test_request_words_cannot_mention_or_link_in_slack() -> None:
    notice = ApprovalNotice(
        execution_id="e1",
        approval_ids=("a1", "a2"),
        level=3,
        requested_by="mallory",
        request_text="restart <!channel> & <https://evil.example|click>",
        summary="Restart on 2 hosts.",
    )
    message = approval_message(notice, "http://ops.local:8000")
    assert message["text"].splitlines() == [
        "Approval needed (level 3: step-by-step approval by an approver other than the requester).",
        "mallory asked: restart &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;",
        "Restart on 2 hosts.",
        "Review: http://ops.local:8000/api/v1/approvals?status=pending",
    ]
    assert message["approval_ids"] == ["a1", "a2"]
    assert message["approvals_url"] == "http://ops.local:8000/api/v1/approvals?status=pending"


async def test_a_malformed_url_is_a_failure_not_an_exception(tmp_path: Path) -> None:
    conductor = await open_conductor(tmp_path, None)
    notifier = WebhookNotifier(conductor.db, "not a url at all", "http://x", backoff_s=0)
    notice = ApprovalNotice("e1", ("a1",), 2, "olga", "deploy", "Deploy.")
    try:
        assert await notifier.send(notice) is False
    finally:
        await conductor.close()
