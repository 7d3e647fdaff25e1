"""docs/benchmarks-scaleout.md from the results of bench/scaleout.py: setup, machine, latency and
throughput per mode (api_load's tables), the spread over replicas and workers, what the busy
database backends waited on, and the store's proof that every request was answered, run once
and audited. A hand-written block between the notes markers survives a rewrite."""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from api_load_report import (
    METRICS,
    count,
    counts_table,
    per_question_table,
    results_table,
    runs_table,
)
from api_load_results import BackendResult, RunResult
from api_load_server import stopped_cleanly
from audit_chain import Sampled
from report import NOTES_END, NOTES_START, kept_notes, ms
from scaleout_count import RunCount

__all__ = ["ModeResult", "Report", "ScaleoutRun", "kept_notes", "render", "summary"]

SAMPLE_EVERY_S = 0.02  # how often bench/scaleout.py reads pg_stat_activity
LOCK_DOMINATES = 0.25  # a wait event held by this share of busy-backend samples dominates


@dataclass
class ScaleoutRun:
    """One timed window over all replicas, and what the processes and database did in it."""

    run: RunResult
    per_replica: list[dict[int, int]]  # POST /requests answers by status, per replica
    cpu_s: dict[str, float]  # CPU seconds in the window, by process
    sampled: Sampled
    load: str  # the machine's load average (1 min) at the end of the window
    connections_opened: int = 0  # database backends started during the window
    transactions: int = 0  # database transactions in the window (approximate)
    count: RunCount | None = None


@dataclass
class ModeResult:
    backend: BackendResult  # the runs as api_load's tables take them; `name` is the mode
    runs: list[ScaleoutRun] = field(default_factory=list)

    def problems(self, worker_names: dict[str, str]) -> list[str]:
        found = self.backend.problems()
        for i, scaled in enumerate(self.runs, 1):
            found += [
                f"run {i}: {p}" for p in _run_problems(self.backend.name, scaled, worker_names)
            ]
        return found


def _run_problems(mode: str, scaled: ScaleoutRun, worker_names: dict[str, str]) -> list[str]:
    found = []
    if any(not sum(replica.values()) for replica in scaled.per_replica):
        found.append(f"a replica answered nothing: {scaled.per_replica}")
    c = scaled.count
    if c is None:
        return [*found, "the runs were not counted"]
    if c.claims != {1: c.executions}:
        found.append(f"claims per execution (lease epochs): {c.claims}")
    if c.rows_as_planned != c.executions or c.repeated:
        found.append(
            f"{c.executions - c.rows_as_planned} executions whose step rows are not of their "
            f"planned steps; {c.repeated} steps with more than one row"
        )
    if mode == "queued":
        by_worker = {worker_names.get(k, k): n for k, n in c.claimed_by.items()}
        if set(by_worker) != set(worker_names.values()):
            found.append(f"not run by every worker and only by them: {by_worker}")
    elif set(c.claimed_by) != {f"inline:{scaled.run.operator}"}:
        found.append(f"not all run inline by the replica asked: {c.claimed_by}")
    return found


@dataclass
class Report:
    command: str
    machine: dict[str, str]
    args: dict[str, Any]
    version: str = ""
    modes: list[ModeResult] = field(default_factory=list)
    worker_names: dict[str, str] = field(default_factory=dict)  # claimed_by → "worker N"
    worker_exit_codes: list[int | None] = field(default_factory=list)
    cli_verify: str = ""
    wall_s: float = 0.0

    def problems(self) -> list[str]:
        found = [f"{m.backend.name} {p}" for m in self.modes for p in m.problems(self.worker_names)]
        if not all(stopped_cleanly(c, signal.SIGTERM) for c in self.worker_exit_codes):
            found.append(f"workers exited {self.worker_exit_codes} when stopped")
        if not self.cli_verify.startswith("Audit trail intact"):
            found.append(f"opsconductor audit verify: {self.cli_verify}")
        return found


def _cpu_label(metric: tuple[Any, ...]) -> tuple[Any, ...]:
    """api_load's metrics, its one server process now all replicas and workers together."""
    label = metric[0].replace("server process CPU", "replicas' and workers' CPU, summed")
    return (label.replace("server CPU per request", "their CPU per request"), *metric[1:])


SCALEOUT_METRICS = tuple(_cpu_label(m) for m in METRICS)


def _queued_rows(modes: list[ModeResult]) -> list[str]:
    """For queued modes: how long the POST itself took before the client followed the run."""
    queued = [m for m in modes if m.backend.runs and m.backend.median(lambda w: len(w.queued))]
    if not queued:
        return []
    rows = ["| POST answered `queued`, p50 / p99 | " + " | ".join(m.backend.name for m in queued)]
    rows[0] += " |"
    rows.append("|---|" + "---:|" * len(queued))
    cells = [
        f"{ms(m.backend.median(lambda w: w.posted(50)))} / "
        f"{ms(m.backend.median(lambda w: w.posted(99)))}"
        for m in queued
    ]
    rows.append("| (the rest of the latency is the queue, the run and the event stream) | ")
    rows[-1] += " | ".join(cells) + " |"
    return ["", *rows]


def _spread_table(r: Report) -> list[str]:
    replicas = int(r.args["replicas"])
    rows = [
        "| mode, run | answered by replica "
        + " / ".join(str(i) for i in range(1, replicas + 1))
        + " | run by (claimed_by) | claims per execution | step rows per execution "
        "| rows of the planned steps, none twice | CPU s by process | database connections "
        "opened | database transactions per request | load (1 min) |",
        "|---|---|---|---|---|---|---|---:|---:|---|",
    ]
    for m in r.modes:
        for i, s in enumerate(m.runs, 1):
            answered = " / ".join(count(sum(x.values())) for x in s.per_replica)
            c = s.count
            cpu = ", ".join(f"{name} {sec:.1f}" for name, sec in s.cpu_s.items())
            per_request = f"{s.transactions / max(len(s.run.window.samples), 1):.1f}"
            if c is None:
                rows.append(
                    f"| {m.backend.name}, run {i} | {answered} | | | | | {cpu} | {s.load} |"
                )
                continue
            by = ", ".join(
                f"{r.worker_names.get(k, k)}: {n:,}" for k, n in sorted(c.claimed_by.items())
            )
            claims = ", ".join(f"{n:,} with {e}" for e, n in sorted(c.claims.items()))
            steps = ", ".join(f"{n:,} with {k}" for k, n in sorted(c.step_rows.items()))
            ok = f"{c.rows_as_planned:,} of {c.executions:,}; {c.repeated} repeated"
            rows.append(
                f"| {m.backend.name}, run {i} | {answered} | {by} | {claims} | {steps} | {ok} "
                f"| {cpu} | {s.connections_opened:,} | {per_request} | {s.load} |"
            )
    return rows


def _waits(runs: list[ScaleoutRun]) -> tuple[Counter[str], int, int]:
    waits: Counter[str] = Counter()
    for s in runs:
        waits.update(s.sampled.waits)
    return waits, sum(s.sampled.busy for s in runs), sum(s.sampled.samples for s in runs)


def _wait_table(r: Report) -> list[str]:
    rows = [
        "| mode | samples | busy backends (mean) | what they were doing: share of busy-backend "
        "samples |",
        "|---|---:|---:|---|",
    ]
    for m in r.modes:
        waits, busy, samples = _waits(m.runs)
        top = ", ".join(f"`{k}` {n / busy:.0%}" for k, n in waits.most_common(8)) if busy else ""
        mean = busy / samples if samples else 0.0
        rows.append(f"| {m.backend.name} | {samples:,} | {mean:.1f} | {top} |")
    return rows


def _lock_lines(r: Report) -> list[str]:
    lines = []
    for m in r.modes:
        waits, busy, _ = _waits(m.runs)
        locks = {k: n for k, n in waits.items() if k.startswith(("Lock:", "LWLock:"))}
        worst = max(locks.items(), key=lambda kv: kv[1], default=("none", 0))
        shared = worst[1] / busy if busy else 0.0
        verdict = "dominated" if shared >= LOCK_DOMINATES else "did not dominate"
        lines.append(
            f"- **{m.backend.name}, lock waits**: the most frequent lock wait, `{worst[0]}`, was "
            f"{shared:.0%} of the busy backends' samples; lock waits {verdict} (threshold "
            f"{LOCK_DOMINATES:.0%}). All lock waits together: "
            f"{sum(locks.values()) / busy if busy else 0.0:.0%}."
        )
    return lines


def _mode_lines(r: Report, m: ModeResult) -> list[str]:
    b = m.backend
    rate = b.median(lambda w: w.per_second)
    cpu = b.median(lambda w: w.server_cpu_s / w.wall_s)
    per_request = b.median(lambda w: w.server_cpu_s / max(len(w.samples), 1))
    return [
        f"- **{b.name}**: {rate:,.1f} answered requests per second with {r.args['clients']} "
        f"clients over {r.args['replicas']} replicas; p50 {ms(b.median(lambda w: w.latency(50)))},"
        f" p99 {ms(b.median(lambda w: w.latency(99)))}. The replicas and workers together used "
        f"{cpu:.0%} of one core ({ms(per_request)} of CPU per request); the machine's "
        f"{r.machine['cores']} cores were {b.median(lambda w: w.machine_busy):.0%} busy."
    ]


def _interpretation(r: Report) -> list[str]:
    lines = []
    for m in r.modes:
        if m.backend.runs:
            lines.extend(_mode_lines(r, m))
    lines.extend(_lock_lines(r))
    problems = r.problems()
    if problems:
        lines.append("- **Counts that do not match** (the run exits 1):")
        lines.extend(f"  - {p}" for p in problems)
    else:
        lines.append(
            "- Every request sent was answered 200 and its execution succeeded; the replicas' "
            "own counters, the executions in the store, their claims (one each), step rows "
            "(of the planned steps, none twice), `claimed_by` (inline: the replica asked; "
            "queued: every worker, and only workers) and audit events (`created` and the end "
            "transition each) match the requests one for one, and the audit hash chain verifies."
        )
    return lines


def _setup(r: Report) -> list[str]:
    a = r.args
    sizes = ", ".join(f"{m.backend.name} {m.backend.inventory:,}" for m in r.modes)
    return [
        f"- One PostgreSQL database made for the run and one Redis key prefix of its own; "
        f"{a['replicas']} `opsconductor serve --no-worker` replicas and {a['workers']} "
        f"`opsconductor worker --concurrency {a['concurrency']}` processes, all on this machine. "
        f"Inventory: `bench/pipeline.generate_assets` ({a['assets']:,}, seed {a['seed']}; the "
        f"replicas report {sizes}).",
        "- **inline**: the shipped settings. Inventory questions are immediate plans, so the "
        "replica asked runs them itself and answers with the result (`claimed_by` "
        "`inline:<operator>`); the workers stand by.",
        "- **queued**: the replicas run with `OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S=0.001`, so every "
        "plan is queued for the workers through Redis. POST answers `queued` at once; the "
        "client then follows `GET /executions/{id}/events` to `complete` and reads "
        "`GET /executions/{id}`: the latency is all of that, as a client of the API sees it.",
        f"- {a['clients']} clients (api_load's: one keep-alive connection each, the same "
        f"question mix), client i on replica i modulo {a['replicas']}, for {a['duration']:.0f} s "
        f"per run after a {a['warmup']:.0f} s warm-up as the admin; each run as an operator of "
        f"its own. With several runs the numbers are medians (min to max in brackets).",
        f"- During each window `pg_stat_activity` of the database is read every "
        f"{1000 * SAMPLE_EVERY_S:.0f} ms (bench/audit_chain.sample): what each backend in a "
        f"transaction was waiting on (`running`: not waiting).",
        "- CPU by process is from /proc over the window; `database backends` are the "
        "PostgreSQL processes serving the run's database, each followed from its first to its "
        "last sighting (every 0.1 s), so that connections opened and closed during the window "
        "count too (their number is in the table). Database transactions are the database's "
        "own count (`pg_stat_database`, less the benchmark's sampling reads; approximate, "
        "as backends report it at most once a second).",
        "- After every process has stopped, the store is counted per operator, the hash chain "
        "verified, and `opsconductor audit verify` run over the whole trail.",
    ]


def render(r: Report, notes: str) -> str:
    """The whole of docs/benchmarks-scaleout.md."""
    backends = [m.backend for m in r.modes]
    machine = [f"| {key} | {value} |" for key, value in r.machine.items()]
    parts = [
        "# Scale-out benchmark",
        "",
        "Written by `make bench-scaleout` (`bench/scaleout.py`); do not edit by hand except "
        "between the notes markers.",
        "",
        f"Command: `{r.command}` — took {r.wall_s:.0f} s.",
        "",
        "## Setup",
        "",
        *_setup(r),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *machine,
        f"| database | {r.version} |",
        "",
        "## Results",
        "",
        *results_table(backends, SCALEOUT_METRICS),
        *_queued_rows(r.modes),
        "",
        *per_question_table(backends),
        "",
        "Each run (server CPU: replicas and workers summed, as a share of one core; other CPU "
        "is PostgreSQL, Redis and anything else running):",
        "",
        *runs_table(backends, "mode, run"),
        "",
        "## Replicas, workers, claims",
        "",
        *_spread_table(r),
        "",
        "## What the database's busy backends waited on",
        "",
        *_wait_table(r),
        "",
        "## Every request answered and audited",
        "",
        *counts_table(backends, "mode, run"),
        "",
        f"`opsconductor audit verify` after the run: {r.cli_verify}",
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
    """One line per mode, for the terminal."""
    lines = []
    for m in r.modes:
        b = m.backend
        lines.append(
            f"{b.name}: {b.median(lambda w: w.per_second):.1f} req/s, "
            f"p50 {ms(b.median(lambda w: w.latency(50)))}, "
            f"p99 {ms(b.median(lambda w: w.latency(99)))}, "
            f"{sum(len(run.window.samples) for run in b.runs)} requests"
        )
    return "\n".join(lines + [f"  {p}" for p in r.problems()])
