"""The refusal guard on its own clock: the limit, Retry-After, the per-window records, and the
bound on remembered addresses; and the log redaction of secrets in paths."""

from __future__ import annotations

import logging

from opsconductor.api.redaction import RedactSecrets, redact
from opsconductor.api.refusals import OVERFLOW, RefusalGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_opens_again_as_the_oldest_refusal_leaves_the_window() -> None:
    clock = Clock()
    guard = RefusalGuard(window_s=60, max_failures=3, clock=clock)
    for _ in range(3):
        assert guard.retry_after("10.0.0.1") is None
        guard.refused("10.0.0.1", "bad", "/p")
        clock.now += 10
    assert guard.retry_after("10.0.0.1") == 30  # the first refusal leaves the window at +60
    assert guard.retry_after("10.0.0.2") is None
    guard.refused(None, "bad", "/p")  # no address: never limited
    assert guard.retry_after(None) is None
    clock.now += 30
    assert guard.retry_after("10.0.0.1") is None


def test_one_record_per_address_and_window_carrying_the_count() -> None:
    clock = Clock()
    guard = RefusalGuard(window_s=60, clock=clock)
    first = guard.refused("10.0.0.1", "bad token", "/a")
    assert first is not None and (first.count, first.reason) == (1, "bad token")
    for _ in range(5):
        assert guard.refused("10.0.0.1", "bad token", "/a") is None
    guard.limited("10.0.0.1", "/b")
    assert guard.refused("10.0.0.1", "no token", "/b", presented=False) is None
    assert guard.due() == []
    clock.now += 60
    [record] = guard.due()
    assert record.count == 7 and record.details()["path"] == "/b"
    assert record.reason == "7 refusals: 5 bad token, 1 no token, 1 rate limited"
    assert guard.refused("10.0.0.1", "bad token", "/a") is None  # 60 s after the last row
    guard.restore(guard.due(final=True))
    assert [r.count for r in guard.due(final=True)] == [1]


def test_forgotten_addresses_leave_their_counts_to_the_overflow() -> None:
    clock = Clock()
    guard = RefusalGuard(max_addresses=2, clock=clock)
    for address in ("a", "b"):
        guard.refused(address, "bad", "/")
        guard.refused(address, "bad", "/")
    guard.refused("c", "bad", "/")
    records = {r.client: r.count for r in guard.due(final=True)}
    assert records == {"b": 1, OVERFLOW: 1}


def test_secrets_in_paths_are_redacted_in_log_records() -> None:
    token = "oct_AAAAAAAAAAAA_" + "B" * 43
    assert redact(f"/x?after=3&token={token}&y=1") == "/x?after=3&token=***&y=1"
    assert redact("/ws?ticket=ost_abc&access_token=zz") == "/ws?ticket=***&access_token=***"
    assert redact(f"see {token} here") == "see oct_*** here"
    args = ("c", "GET", f"/?token={token}")
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 1, '%s - "%s %s"', args, None)
    assert RedactSecrets().filter(record)
    assert record.args == ("c", "GET", "/?token=***")
    assert token not in record.getMessage()
