"""docs/benchmarks-api.md from the results of bench/api_load.py: setup, machine, latency and
throughput per backend, recorded requests beside dry runs (with --compare-dry-run), the count
of requests against the store's executions and audit events, and an interpretation derived
from the numbers. A hand-written block between the notes markers survives a rewrite. The
tables are also those of bench/scaleout_report.py."""

from __future__ import annotations

from collections.abc import Callable

from api_load_clients import TEMPLATES, Window
from api_load_dry_run import dry_run_lines, dry_run_section, dry_run_setup, rate, ratio
from api_load_results import BackendResult, Report, RunResult
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
            lines.extend(dry_run_lines(b))
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
        *dry_run_setup(r),
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
        *dry_run_section(r),
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
                f"{b.name} dry run: {b.median(rate, b.dry_runs):.1f} req/s; "
                f"recorded / dry = {ratio(b):.2f}"
            )
    return "\n".join(lines + [f"  {p}" for p in r.problems()])
