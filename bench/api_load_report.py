"""docs/benchmarks-api.md from the results of bench/api_load.py: setup, machine, latency and
throughput per backend, recorded requests beside dry runs (with --compare-dry-run), the count
of requests against the store's executions and audit events, and an interpretation derived
from the numbers. A hand-written block between the notes markers survives a rewrite. The
tables are also those of bench/scaleout_report.py."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from api_load_clients import TEMPLATES, Window
from api_load_server import StoreCount, stopped_cleanly
from report import NOTES_END, NOTES_START, kept_notes, ms

__all__ = [
    "METRICS",
    "BackendResult",
    "Report",
    "RunResult",
    "counts_table",
    "kept_notes",
    "per_question_table",
    "render",
    "results_table",
    "runs_table",
    "summary",
]


CPU_BOUND = 0.95  # a process (or machine) busier than this share is taken as CPU-bound


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


def count(value: float) -> str:
    return f"{value:,.0f}"


def share(value: float) -> str:
    return f"{value:.0%}"


# label, metric of one window, format, in bold
METRICS: tuple[tuple[str, Callable[[Window], float], Callable[[float], str], bool], ...] = (
    ("requests sent", lambda w: len(w.samples), count, False),
    ("answered 200 and succeeded", lambda w: len(w.ok), count, False),
    ("failed", lambda w: len(w.failures), count, False),
    ("throughput (successes per second)", lambda w: w.per_second, "{:,.1f}".format, True),
    ("p50 latency", lambda w: w.latency(50), ms, True),
    ("p95 latency", lambda w: w.latency(95), ms, True),
    ("p99 latency", lambda w: w.latency(99), ms, True),
    ("slowest", lambda w: max((s.latency_s for s in w.ok), default=0.0), ms, False),
    ("window, to the last answer", lambda w: w.wall_s, "{:.1f} s".format, False),
    ("server process CPU, share of one core", lambda w: w.server_cpu_s / w.wall_s, share, False),
    ("load generator CPU, share of one core", lambda w: w.client_cpu_s / w.wall_s, share, False),
    ("other processes' CPU (database, rest)", lambda w: w.other_cpu_s / w.wall_s, share, False),
    ("machine CPU busy, share of all cores", lambda w: w.machine_busy, share, False),
    ("server CPU per request", lambda w: w.server_cpu_s / max(len(w.samples), 1), ms, False),
)


Metric = tuple[str, Callable[[Window], float], Callable[[float], str], bool]


def results_table(
    backends: list[BackendResult], metrics: tuple[Metric, ...] = METRICS
) -> list[str]:
    """One column per backend, one row per metric: the median of the recorded runs."""
    head = "| | " + " | ".join(b.name for b in backends) + " |"
    rows = [head, "|---|" + "---:|" * len(backends)]
    for label, metric, fmt, bold in metrics:
        mark = "**" if bold else ""
        cells = [f"{mark}{fmt(b.median(metric))}{mark}{b.spread(metric, fmt)}" for b in backends]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def per_question_table(backends: list[BackendResult]) -> list[str]:
    rows = [
        "| question (p50 / p99) | " + " | ".join(b.name for b in backends) + " |",
        "|---|" + "---:|" * len(backends),
    ]
    for template in TEMPLATES:
        cells = [f"{ms(_of(b, 50, template))} / {ms(_of(b, 99, template))}" for b in backends]
        rows.append(f"| {template.replace('{name}', '<server>')} | " + " | ".join(cells) + " |")
    return rows


def runs_table(backends: list[BackendResult], first: str = "backend, run") -> list[str]:
    rows = [
        f"| {first} | requests | per second | p50 | p99 | server CPU | other CPU | machine busy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in backends:
        for label, run in b.labelled():
            w = run.window
            rows.append(
                f"| {b.name}, {label} | {len(w.samples):,} | {w.per_second:,.1f} | "
                f"{ms(w.latency(50))} | {ms(w.latency(99))} | {share(w.server_cpu_s / w.wall_s)} | "
                f"{share(w.other_cpu_s / w.wall_s)} | {share(w.machine_busy)} |"
            )
    return rows


def _of(b: BackendResult, q: float, template: str) -> float:
    return b.median(lambda w: w.latency(q, template))


def counts_table(backends: list[BackendResult], first: str = "backend, run") -> list[str]:
    rows = [
        f"| {first} | sent | answered 200 + succeeded | server counted (POST /requests) "
        "| executions in the store | with created + end audit events | audit events "
        "| ids match | audit chain |",
        "|---|---:|---:|---|---:|---:|---:|---|---|",
    ]
    for b in backends:
        for label, run in b.labelled():
            w, s = run.window, run.store
            counted = ", ".join(f"{n:,} ({code})" for code, n in sorted(run.server_counted.items()))
            first = f"| {b.name}, {label} | {len(w.samples):,} | {len(w.ok):,} | {counted} |"
            if s is None:
                rows.append(first)
                continue
            ids = "yes" if s.execution_ids == w.execution_ids else "**no**"
            chain = f"ok ({s.chain_checked:,} events)" if s.chain_ok else "**broken**"
            rows.append(
                f"{first} {s.executions:,} | {s.fully_audited:,} | {s.audit_events:,} | "
                f"{ids} | {chain} |"
            )
    return rows


RECORDED_TARGET = 0.5  # issue 11: recorded requests at least half as fast as dry runs


def _rate(w: Window) -> float:
    return w.per_second


def _ratio(b: BackendResult) -> float:
    dry = b.median(_rate, b.dry_runs)
    return b.median(_rate) / dry if dry else 0.0


def _cpu_per_request(w: Window) -> float:
    return w.server_cpu_s / max(len(w.samples), 1)


def _pair_ratios(b: BackendResult) -> list[float]:
    """Recorded over dry throughput of each recorded run and the dry run right after it."""
    return [
        rec.window.per_second / dry.window.per_second
        for rec, dry in zip(b.runs, b.dry_runs, strict=False)
        if dry.window.per_second
    ]


def dry_run_table(backends: list[BackendResult]) -> list[str]:
    """Recorded and dry-run windows side by side: medians (min to max) and their ratio."""
    rows = [
        "| backend | recorded, successes/s | dry run, successes/s | **recorded / dry** "
        "| p50 recorded / dry | p99 recorded / dry | server CPU per request, recorded / dry |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for b in backends:
        if not b.dry_runs:
            continue
        rate = "{:,.1f}".format
        pairs = _pair_ratios(b)
        spread = f" ({min(pairs):.2f} to {max(pairs):.2f})" if len(pairs) > 1 else ""
        rows.append(
            f"| {b.name} | {rate(b.median(_rate))}{b.spread(_rate, rate)} | "
            f"{rate(b.median(_rate, b.dry_runs))}{_spread(b.dry_runs, _rate, rate)} | "
            f"**{_ratio(b):.2f}**{spread} | "
            f"{ms(b.median(lambda w: w.latency(50)))} / "
            f"{ms(b.median(lambda w: w.latency(50), b.dry_runs))} | "
            f"{ms(b.median(lambda w: w.latency(99)))} / "
            f"{ms(b.median(lambda w: w.latency(99), b.dry_runs))} | "
            f"{ms(b.median(_cpu_per_request))} / "
            f"{ms(b.median(_cpu_per_request, b.dry_runs))} |"
        )
    return rows


def _spread(
    runs: list[RunResult], metric: Callable[[Window], float], fmt: Callable[[float], str]
) -> str:
    values = [metric(r.window) for r in runs]
    return "" if len(values) < 2 else f" ({fmt(min(values))} to {fmt(max(values))})"


def _dry_run_lines(b: BackendResult) -> list[str]:
    ratio = _ratio(b)
    verdict = "meets" if ratio >= RECORDED_TARGET else "misses"
    return [
        f"- **{b.name}, recorded vs dry run**: recorded requests got {ratio:.2f} times the "
        f"throughput of dry runs (median of each; {len(b.runs)} pair(s), alternating); this "
        f"{verdict} the target of at least {RECORDED_TARGET:.1f}. A dry run stops after "
        f"stage D: what it skips is stage E (the execution row, its step row and audit "
        f"events, written and committed, and the step run)."
    ]


def _bound(cpu: float, busy: float, per_request: float) -> str:
    """What limits the throughput, as far as the CPU numbers tell."""
    if cpu >= CPU_BOUND and per_request:
        return (
            f"that process's CPU bounds the throughput near 1 / {ms(per_request)} ≈ "
            f"{1 / per_request:,.0f} requests per second"
        )
    if busy >= CPU_BOUND:
        return f"the machine's cores were {busy:.0%} busy, shared with the database and clients"
    return (
        f"neither it nor the machine ({busy:.0%} of all cores) was saturated, so the bound "
        f"lies elsewhere (waiting on the database, locks)"
    )


def _backend_lines(r: Report, b: BackendResult) -> list[str]:
    rate = b.median(lambda w: w.per_second)
    p50, p99 = b.median(lambda w: w.latency(50)), b.median(lambda w: w.latency(99))
    cpu = b.median(lambda w: w.server_cpu_s / w.wall_s)
    per_request = b.median(lambda w: w.server_cpu_s / max(len(w.samples), 1))
    mean = r.clients / rate if rate else 0.0  # Little's law: time in the system
    waiting = 1 - per_request / mean if mean > per_request else 0.0
    lines = [
        f"- **{b.name}**: {rate:,.1f} answered requests per second with {r.clients} clients; "
        f"p50 {ms(p50)}, p99 {ms(p99)}. The one server process was busy {cpu:.0%} of one "
        f"core, {ms(per_request)} of CPU per request: "
        f"{_bound(cpu, b.median(lambda w: w.machine_busy), per_request)}. With {r.clients} "
        f"clients always waiting, a request's mean time is {r.clients} / {rate:,.1f} ≈ "
        f"{ms(mean)} (Little's law), of which about {waiting:.0%} is spent waiting (for the "
        f"event loop, a database connection or lock) rather than on the server's CPU."
    ]
    if b.baseline is not None and b.baseline.window.ok:
        alone = b.baseline.window
        lines.append(
            f"  One client alone got p50 {ms(alone.latency(50))}, p99 {ms(alone.latency(99))} "
            f"and {alone.per_second:,.1f} requests per second: {r.clients} clients got "
            f"{rate / alone.per_second:,.1f} times the throughput, each waiting "
            f"{p50 / alone.latency(50):,.0f} times as long (p50)."
        )
    return lines


def _interpretation(r: Report) -> list[str]:
    lines = []
    for b in r.backends:
        if b.runs:
            lines.extend(_backend_lines(r, b))
        if b.dry_runs:
            lines.extend(_dry_run_lines(b))
    problems = r.problems()
    if problems:
        lines.append("- **Counts that do not match** (the run exits 1):")
        lines.extend(f"  - {p}" for p in problems)
    else:
        lines.append(
            "- Every request sent was answered 200 with a succeeded execution and a message; "
            "the server's own counter, the executions in the store (by requester) and their "
            "audit events (a `created` event and the transition to the end state each) match "
            "the requests one for one, and the audit hash chain verifies."
        )
        if any(b.dry_runs for b in r.backends):
            lines.append(
                "- Every dry run was answered 200 with a plan, no execution and a message "
                "naming the server asked about, and left no execution or audit event."
            )
    return lines


def _dry_run_setup(r: Report) -> list[str]:
    if not r.compare_dry_run:
        return []
    return [
        f"- `--compare-dry-run`: each timed run is followed at once by a dry run of "
        f"{r.duration_s:.0f} s, with the same clients and questions and `dry_run: true` in the "
        f"body (planned and previewed; nothing recorded or run), as an operator of its own; a "
        f"dry run succeeds when it is answered 200 with a plan, no execution and a message "
        f"that names the server asked about. The tables above the comparison are of the "
        f"recorded runs."
    ]


def _dry_run_section(r: Report) -> list[str]:
    if not any(b.dry_runs for b in r.backends):
        return []
    return [
        "Recorded beside dry runs (medians; the ratio's range is over each recorded run and "
        "the dry run right after it):",
        "",
        *dry_run_table(r.backends),
        "",
    ]


def render(r: Report, notes: str) -> str:
    """The whole of docs/benchmarks-api.md."""
    machine = [f"| {key} | {value} |" for key, value in r.machine.items()]
    machine += [f"| {b.name} | {b.version} |" for b in r.backends]
    sizes = ", ".join(f"{b.name} {b.inventory:,}" for b in r.backends)
    parts = [
        "# API load benchmark",
        "",
        "Written by `make bench-api` (`bench/api_load.py`); do not edit by hand except between "
        "the notes markers.",
        "",
        f"Command: `{r.command}` — took {r.wall_s:.0f} s.",
        "",
        "## Setup",
        "",
        f"- One `opsconductor serve` (one uvicorn process, embedded worker on) on a free "
        f"loopback port, per backend: the embedded SQLite store, then a fresh PostgreSQL "
        f"database. Each store is seeded with the same generated inventory "
        f"(`bench/pipeline.generate_assets`, seed {r.seed}; the server reports {sizes} assets).",
        f"- The admin token `serve` prints on first start is used for a {r.warmup_s:.0f} s "
        f"warm-up at full load and for reading `/api/v1/metrics`; each timed run uses an "
        f"operator made with `opsconductor users add` and `opsconductor tokens create`.",
        f"- {r.clients} clients in one process (each an `httpx.AsyncClient` with one keep-alive "
        f"connection) POST to `/api/v1/requests` one request after another for "
        f"{r.duration_s:.0f} s; a request still running at the end is let finish and counted. "
        f"Each client asks the questions below in turn; `<server>` is drawn from 500 servers.",
        "- A request counts as a success when it is answered 200, its execution `succeeded`, "
        "its message is not empty and, for a named server, names it. Latencies are of "
        "successes; with several runs the numbers are medians (min to max in brackets).",
        f"- Before the timed runs, {r.baseline_s:.0f} s with one client alone (its own "
        f"operator) give the latency without queueing; 0 s means none was measured.",
        "- After the server has stopped, the store is asked for the operator's executions and "
        "their audit events, and the audit hash chain is verified.",
        *_dry_run_setup(r),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *machine,
        "",
        "## Results",
        "",
        *results_table(r.backends),
        "",
        *_dry_run_section(r),
        *per_question_table(r.backends),
        "",
        "Each run (CPU as a share of one core; machine busy as a share of all cores; other CPU "
        "is the database server's processes and anything else running on the machine):",
        "",
        *runs_table(r.backends),
        "",
        "## Every request answered and audited",
        "",
        *counts_table(r.backends),
        "",
        "## Interpretation",
        "",
        *_interpretation(r),
        "",
        "## Notes",
        "",
        NOTES_START,
        notes,
        NOTES_END,
        "",
    ]
    return "\n".join(parts)


def summary(r: Report) -> str:
    """One line per backend, for the terminal."""
    lines = []
    for b in r.backends:
        lines.append(
            f"{b.name}: {b.median(lambda w: w.per_second):.1f} req/s, "
            f"p50 {ms(b.median(lambda w: w.latency(50)))}, "
            f"p95 {ms(b.median(lambda w: w.latency(95)))}, "
            f"p99 {ms(b.median(lambda w: w.latency(99)))}, "
            f"{sum(len(run.window.samples) for run in b.runs)} requests, "
            f"{len(b.problems())} problem(s)"
        )
        if b.dry_runs:
            lines.append(
                f"{b.name} dry run: {b.median(_rate, b.dry_runs):.1f} req/s; "
                f"recorded / dry = {_ratio(b):.2f}"
            )
    return "\n".join(lines + [f"  {p}" for p in r.problems()])
