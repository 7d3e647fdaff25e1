"""The approval webhook: a Slack-compatible message when a plan waits for approval.

Sent in the background so that a slow or broken receiver never holds up, or fails, the request
that asked; every outcome is appended to the audit trail. The URL often carries a secret in its
path (Slack's does), so only its host is ever logged or audited."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsconductor.config import Settings
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

LEVEL_WORDS = {
    1: "confirmation by the requester",
    2: "review by an approver other than the requester",
    3: "step-by-step approval by an approver other than the requester",
}
# Worst case one notice takes (retries + 1) * timeout plus the pauses; closing waits that long.
CLOSE_WAIT_S = 30.0


@dataclass(frozen=True)
class ApprovalNotice:
    """What the people who approve need to know about one execution waiting for them."""

    execution_id: str
    approval_ids: tuple[str, ...]
    level: int
    requested_by: str
    request_text: str
    summary: str


def slack_escape(text: str) -> str:
    """Slack reads `<…>` as links and mentions: a request's words must stay words."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def approval_message(notice: ApprovalNotice, public_url: str) -> dict[str, Any]:
    """The JSON body: `text` for chat tools, the structured fields for anything else."""
    link = f"{public_url.rstrip('/')}/api/v1/approvals?status=pending"
    level = LEVEL_WORDS.get(notice.level, f"level {notice.level}")
    text = (
        f"Approval needed (level {notice.level}: {level}).\n"
        f"{slack_escape(notice.requested_by)} asked: {slack_escape(notice.request_text)}\n"
        f"{slack_escape(notice.summary)}\n"
        f"Review: {link}"
    )
    return {
        "text": text,
        "execution_id": notice.execution_id,
        "approval_ids": list(notice.approval_ids),
        "level": notice.level,
        "requested_by": notice.requested_by,
        "approvals_url": link,
    }


def _retryable(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


@dataclass
class _Outcome:
    attempts: int = 0
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class WebhookNotifier:
    """POSTs approval notices to one URL: timeout per attempt, a few retries, never raising."""

    def __init__(
        self,
        db: Database,
        url: str,
        public_url: str,
        *,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.db = db
        self.url = url
        self.public_url = public_url
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._transport = transport
        self._tasks: set[asyncio.Task[bool]] = set()

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> WebhookNotifier | None:
        """The configured notifier, or None when no webhook URL is set."""
        if not settings.approval_webhook_url:
            return None
        # The URL often carries a token (Slack's do): a SecretStr everywhere but here.
        return cls(db, settings.approval_webhook_url.get_secret_value(), settings.public_url)

    @property
    def host(self) -> str:
        """The receiver's host: what logs and the audit trail may name of the URL."""
        import httpx  # imported where used: most processes never send a notice

        try:
            return httpx.URL(self.url).host or "?"
        except Exception:
            return "?"

    def notify(self, notice: ApprovalNotice) -> None:
        """Send `notice` in the background; the caller goes on at once."""
        task = asyncio.create_task(self.send(notice), name=f"webhook:{notice.execution_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Return when every notice handed to :meth:`notify` so far has been sent or given up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Let notices in flight finish (bounded), then drop what is left."""
        try:
            async with asyncio.timeout(CLOSE_WAIT_S):
                await self.wait()
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def send(self, notice: ApprovalNotice) -> bool:
        """POST `notice` and record the outcome; true when the receiver took it. Never raises."""
        try:
            outcome = await self._post(approval_message(notice, self.public_url))
        except Exception as exc:  # a bad URL, a bug: the asker must not notice
            outcome = _Outcome(attempts=1, error=type(exc).__name__)
        if not outcome.ok:
            logger.warning(
                "approval webhook to %s failed after %d attempt(s): %s",
                self.host,
                outcome.attempts,
                outcome.error,
                extra={"execution_id": notice.execution_id},
            )
        await self._audit(notice, outcome)
        return outcome.ok

    async def _post(self, payload: dict[str, Any]) -> _Outcome:
        import httpx

        outcome = _Outcome()
        async with httpx.AsyncClient(
            timeout=self.timeout_s, transport=self._transport, follow_redirects=False
        ) as client:
            for attempt in range(1, self.retries + 2):
                outcome.attempts = attempt
                try:
                    response = await client.post(self.url, json=payload)
                except httpx.HTTPError as exc:
                    # The class only: some messages quote the URL, and the URL holds the secret.
                    outcome.status_code, outcome.error = None, type(exc).__name__
                else:
                    outcome.status_code = response.status_code
                    if response.is_success:
                        outcome.error = None
                        return outcome
                    outcome.error = f"HTTP {response.status_code}"
                    if not _retryable(response.status_code):
                        return outcome
                if attempt <= self.retries:
                    await asyncio.sleep(self.backoff_s * attempt)
        return outcome

    async def _audit(self, notice: ApprovalNotice, outcome: _Outcome) -> None:
        try:
            async with self.db.session() as session:
                await record_event(
                    session,
                    actor="system",
                    entity_type="execution",
                    entity_id=notice.execution_id,
                    action="webhook_sent" if outcome.ok else "webhook_failed",
                    reason=outcome.error,
                    details={
                        "host": self.host,
                        "attempts": outcome.attempts,
                        "status_code": outcome.status_code,
                        "approval_ids": list(notice.approval_ids),
                    },
                )
        except Exception as exc:  # the store may be closing; the warning is all that is left
            logger.warning(
                "could not audit the approval webhook: %s",
                type(exc).__name__,
                extra={"execution_id": notice.execution_id},
            )
