"""The results of bench/api_load.py and bench/scaleout.py, and whether they add up: one timed
window with the server's counter and the store's count of it (RunResult), the runs of one
backend or mode (BackendResult), and one invocation of api_load (Report)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from api_load_clients import Window
from api_load_server import StoreCount, stopped_cleanly

__all__ = ["BackendResult", "Report", "RunResult"]


@dataclass
class RunResult:
    """One timed window, what the server's counter saw, and what the store holds for it."""

    operator: str
    window: Window
    server_counted: dict[int, int]  # POST /requests answers by status, from /metrics
    store: StoreCount | None = None
    dry_run: bool = False  # planned and previewed only: nothing may be recorded

    def problems(self) -> list[str]:
        """Every way in which this run's requests, answers, executions and audit events do
        not add up; empty when they all match."""
        w = self.window
        found = []
        if w.failures:
            first = w.failures[0].problem
            found.append(f"{len(w.failures)} of {len(w.samples)} requests failed; first: {first}")
        with_status = dict.fromkeys(self.server_counted, 0)
        for sample in w.samples:
            if sample.status is not None:
                with_status[sample.status] = with_status.get(sample.status, 0) + 1
        if with_status != self.server_counted:
            found.append(f"the server counted {self.server_counted}, clients got {with_status}")
        return found + self._store_problems()

    def _store_problems(self) -> list[str]:
        w, s = self.window, self.store
        if s is None:
            return ["the store was not counted"]
        found = []
        if self.dry_run:
            if s.executions or s.audit_events:
                found.append(f"dry runs left {s.executions} executions, {s.audit_events} events")
        elif s.executions != len(w.samples) or s.by_state != {"succeeded": len(w.ok)}:
            found.append(f"{len(w.samples)} requests sent, the store holds {s.by_state}")
        if s.execution_ids != w.execution_ids:
            missing = len(w.execution_ids - s.execution_ids)
            extra = len(s.execution_ids - w.execution_ids)
            found.append(f"execution ids differ: {missing} answered not stored, {extra} extra")
        if s.fully_audited != s.executions:
            found.append(f"{s.executions - s.fully_audited} executions lack audit events")
        if s.auth_refusals:
            found.append(f"{s.auth_refusals} refused tokens or permissions in the audit trail")
        if not s.chain_ok:
            found.append(f"the audit hash chain breaks after {s.chain_checked} events")
        return found


@dataclass
class BackendResult:
    name: str
    assets: int
    version: str = ""
    seed_s: float = 0.0
    inventory: int = 0
    exit_code: int | None = None
    runs: list[RunResult] = field(default_factory=list)  # recorded
    baseline: RunResult | None = None  # one client alone: the latency without queueing
    dry_runs: list[RunResult] = field(default_factory=list)  # each right after its recorded run

    def labelled(self) -> list[tuple[str, RunResult]]:
        """The baseline (if any) and the timed runs in the order they ran, each labelled."""
        first = [("1 client", self.baseline)] if self.baseline else []
        for i, run in enumerate(self.runs, 1):
            first.append((f"run {i}", run))
            if i <= len(self.dry_runs):
                first.append((f"run {i}, dry run", self.dry_runs[i - 1]))
        return first

    def median(
        self, metric: Callable[[Window], float], runs: list[RunResult] | None = None
    ) -> float:
        """The median of `metric` over `runs` (the recorded runs by default)."""
        chosen = self.runs if runs is None else runs
        return statistics.median(metric(r.window) for r in chosen) if chosen else 0.0

    def spread(self, metric: Callable[[Window], float], fmt: Callable[[float], str]) -> str:
        """ " (min to max)" across runs, or nothing for a single run."""
        values = [metric(r.window) for r in self.runs]
        return "" if len(values) < 2 else f" ({fmt(min(values))} to {fmt(max(values))})"

    def problems(self) -> list[str]:
        found = [f"{label}: {p}" for label, run in self.labelled() for p in run.problems()]
        if self.inventory != self.assets:
            found.append(f"the server's inventory holds {self.inventory} of {self.assets} assets")
        if not stopped_cleanly(self.exit_code):
            found.append(f"the server exited {self.exit_code} when stopped")
        return found


@dataclass
class Report:
    command: str
    machine: dict[str, str]
    clients: int
    duration_s: float
    warmup_s: float
    baseline_s: float
    seed: int
    compare_dry_run: bool = False
    backends: list[BackendResult] = field(default_factory=list)
    wall_s: float = 0.0

    def problems(self) -> list[str]:
        return [f"{b.name} {p}" for b in self.backends for p in b.problems()]
