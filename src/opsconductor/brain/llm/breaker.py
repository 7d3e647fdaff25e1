"""A circuit breaker: after repeated failures the model is skipped for a while, so a dead
endpoint costs each request nothing instead of a timeout."""

from __future__ import annotations

import time
from collections.abc import Callable

FAILURES_TO_OPEN = 3
OPEN_FOR_S = 60.0


class CircuitBreaker:
    """Closed while the model answers; open (skipped) for `open_for_s` after
    `failures_to_open` failures in a row; then one request tries the model again."""

    def __init__(
        self,
        failures_to_open: int = FAILURES_TO_OPEN,
        open_for_s: float = OPEN_FOR_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.open_for_s = open_for_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    def allows(self) -> bool:
        """Whether the model may be asked now."""
        if self._opened_at is None:
            return True
        return self._clock() - self._opened_at >= self.open_for_s

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None

    def failed(self) -> None:
        self._failures += 1
        if self._failures >= self.failures_to_open:
            self._opened_at = self._clock()
