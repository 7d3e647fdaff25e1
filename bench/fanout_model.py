"""What bench/fanout.py measures: one `Outcome` per timed invocation, kept as a `Sample`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    """One invocation of one side: its wall time and whether it did the whole job."""

    seconds: float
    ok: bool
    detail: str  # the answer's first line, or what went wrong
    parts: dict[str, float] = field(default_factory=dict)  # named sub-timings, in seconds


def failed(seconds: float, detail: str) -> Outcome:
    return Outcome(seconds=seconds, ok=False, detail=" ".join(detail.split())[:300])


@dataclass(frozen=True)
class Sample:
    """An outcome with where it was taken: the variant, the round, its SSH logins and client CPU."""

    variant: str
    round: int
    outcome: Outcome
    logins: int
    cpu_s: float  # CPU time of the client side (see bench/fanout.py `cpu_seconds`)


@dataclass(frozen=True)
class Spread:
    """Median, minimum and maximum of some seconds."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values))


def series(samples: list[Sample], variant: str) -> list[Sample]:
    return [s for s in samples if s.variant == variant]


def wall(samples: list[Sample], variant: str) -> Spread | None:
    """Wall time of a variant's successful runs (a failed run is counted, never timed)."""
    return Spread.of([s.outcome.seconds for s in series(samples, variant) if s.outcome.ok])


def part(samples: list[Sample], variant: str, name: str) -> Spread | None:
    """A named sub-timing of a variant's successful runs."""
    runs = [s.outcome for s in series(samples, variant) if s.outcome.ok]
    return Spread.of([o.parts[name] for o in runs if name in o.parts])


def failures(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if not s.outcome.ok]
