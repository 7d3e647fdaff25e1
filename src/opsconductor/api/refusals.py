"""Refused credentials, kept cheap: a limit per client address and an aggregated audit record.
In memory only, per process; nothing here touches the database.

- *Limit.* An address whose credentials (a token or a ticket) were refused MAX_FAILURES times
  within WINDOW_S is answered 429 with `Retry-After` (a WebSocket is closed 1013), whatever it
  sends, until the oldest of those refusals leaves the window; that answer costs no query. A
  request with no credentials at all is refused and audited but not counted: it guesses
  nothing and costs no lookup. Requests without a client address (a Unix socket, an
  in-process call) are not limited: they cannot be told apart, and one shared limit would let
  one bad client lock everybody out.
- *Audit.* An address gets at most one audit row per WINDOW_S: its first refusal is recorded at
  once; the refusals after it (rate-limited requests included) are counted and recorded as one
  row carrying the count, once WINDOW_S has passed since the address's previous row: at its
  next refusal after that, or by `due()`, which the application calls every few seconds and at
  shutdown (when everything still counted is recorded).

Behind a proxy the address is the one uvicorn reports (`--proxy-headers` and
`--forwarded-allow-ips` decide whether that is the proxy's or the client's)."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WINDOW_S = 60.0
MAX_FAILURES = 10
# Addresses remembered at most; beyond, the longest-known one is forgotten and what it still
# had to record is counted under OVERFLOW, so that a flood of addresses cannot grow memory.
MAX_ADDRESSES = 10_000
OVERFLOW = "(other addresses)"
UNKNOWN = "unknown"
RATE_LIMITED = "rate limited"


@dataclass(frozen=True)
class RefusalRecord:
    """One audit row's worth of refusals from one address."""

    client: str
    reasons: dict[str, int]
    path: str
    # When the guard decided this row was due; the row's own `at` is when it was written, which
    # can lag behind by the wait for the store's write lock.
    decided_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def count(self) -> int:
        return sum(self.reasons.values())

    @property
    def reason(self) -> str:
        if len(self.reasons) == 1 and self.count == 1:
            return next(iter(self.reasons))
        parts = ", ".join(f"{n} {why}" for why, n in sorted(self.reasons.items()))
        return f"{self.count} refusals: {parts}"

    def details(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "client": self.client,
            "count": self.count,
            "decided_at": self.decided_at.isoformat(),
        }


@dataclass
class _Address:
    failures: deque[float]  # the times of its latest refusals, as many as the limit counts
    last_row: float | None = None  # when its last audit row was due
    pending: Counter[str] = field(default_factory=Counter)
    path: str = ""


class RefusalGuard:
    """The limit and the audit aggregation for one process (see the module's docstring)."""

    def __init__(
        self,
        *,
        window_s: float = WINDOW_S,
        max_failures: int = MAX_FAILURES,
        max_addresses: int = MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_failures = max_failures
        self.max_addresses = max_addresses
        self.clock = clock
        self._addresses: dict[str, _Address] = {}

    def retry_after(self, client: str | None) -> int | None:
        """Whole seconds until `client` may try again; None when it is not limited."""
        entry = self._addresses.get(client) if client else None
        if entry is None or len(entry.failures) < self.max_failures:
            return None
        oldest = entry.failures[-self.max_failures]
        wait = oldest + self.window_s - self.clock()
        return max(1, math.ceil(wait)) if wait > 0 else None

    def refused(
        self, client: str | None, reason: str, path: str, *, presented: bool = True
    ) -> RefusalRecord | None:
        """Count one refusal (towards the limit too when credentials were `presented`); the
        record due in the audit trail now, if one is."""
        now = self.clock()
        entry = self._entry(client or UNKNOWN)
        if client and presented:
            entry.failures.append(now)
        return self._count(client or UNKNOWN, entry, reason, path, now)

    def limited(self, client: str, path: str) -> None:
        """Count a request answered 429: recorded later, with the rest, never at once."""
        entry = self._entry(client)
        entry.pending[RATE_LIMITED] += 1
        entry.path = path

    def due(self, *, final: bool = False) -> list[RefusalRecord]:
        """The records whose address's window has passed (every one still counted when
        `final`), and forget addresses with nothing left to limit or record."""
        now = self.clock()
        records = []
        for client, entry in list(self._addresses.items()):
            if entry.pending and (final or self._window_passed(entry, now)):
                records.append(self._record(client, entry, now))
            recent = bool(entry.failures) and entry.failures[-1] > now - self.window_s
            if not entry.pending and not recent and self._window_passed(entry, now):
                del self._addresses[client]
        return records

    def restore(self, records: list[RefusalRecord]) -> None:
        """Count again records from `due()` that could not be written."""
        for record in records:
            entry = self._entry(record.client)
            entry.pending.update(record.reasons)
            entry.path = entry.path or record.path

    def _count(
        self, client: str, entry: _Address, reason: str, path: str, now: float
    ) -> RefusalRecord | None:
        entry.pending[reason] += 1
        entry.path = path
        if self._window_passed(entry, now):
            return self._record(client, entry, now)
        return None

    def _window_passed(self, entry: _Address, now: float) -> bool:
        return entry.last_row is None or now - entry.last_row >= self.window_s

    def _record(self, client: str, entry: _Address, now: float) -> RefusalRecord:
        record = RefusalRecord(client, dict(entry.pending), entry.path)
        entry.pending.clear()
        entry.last_row = now
        return record

    def _entry(self, client: str) -> _Address:
        entry = self._addresses.get(client)
        if entry is not None:
            return entry
        if len(self._addresses) >= self.max_addresses:
            self._forget_oldest()
        entry = self._addresses[client] = _Address(deque(maxlen=self.max_failures))
        return entry

    def _forget_oldest(self) -> None:
        oldest = next(c for c in self._addresses if c != OVERFLOW)
        forgotten = self._addresses.pop(oldest)
        if forgotten.pending:
            overflow = self._addresses.setdefault(OVERFLOW, _Address(deque(maxlen=1)))
            overflow.pending.update(forgotten.pending)
            overflow.path = forgotten.path
