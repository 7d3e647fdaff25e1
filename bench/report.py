"""Turns the benchmark's measurements into docs/benchmarks.md: medians across runs, the machine,
and an interpretation derived from the numbers. A hand-written block between the NOTES markers
survives regeneration."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import QUESTIONS, RunResult, Sample, Timings, percentile

TARGET_MS = 20.0
NOTES_START = "<!-- notes: kept when the benchmark rewrites this file -->"
NOTES_END = "<!-- end of notes -->"
DEFAULT_NOTES = "_No notes yet: profile findings go here._"


@dataclass
class Results:
    """Everything one invocation of bench/run.py measured."""

    command: str
    machine: dict[str, str]
    assets: int
    seed: int
    requests: int
    runs: list[RunResult]
    generate_s: float = 0.0
    seed_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    cli: dict[str, list[float]] = field(default_factory=dict)
    wall_s: float = 0.0

    def failures(self) -> list[str]:
        return [f for run in self.runs for t in (run.ask, run.plan) for f in t.failures]

    def median(self, metric: Callable[[RunResult], float]) -> float:
        """The median across runs of a per-run number."""
        return statistics.median(metric(run) for run in self.runs)

    def spread(self, metric: Callable[[RunResult], float]) -> tuple[float, float]:
        values = [metric(run) for run in self.runs]
        return min(values), max(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _p(kind: str, q: float) -> Callable[[RunResult], float]:
    return lambda run: _timings(run, kind).percentile(q)


def _rate(kind: str) -> Callable[[RunResult], float]:
    return lambda run: _timings(run, kind).per_second


def _question_p50(kind: str, question: str) -> Callable[[RunResult], float]:
    return lambda run: percentile(_timings(run, kind).by_question[question], 50)


def _timings(run: RunResult, kind: str) -> Timings:
    return run.ask if kind == "ask" else run.plan


def _headline(r: Results) -> list[str]:
    rows = [
        "| per request, all questions mixed | ask (stages A-E) | plan (stages A-D) |",
        "|---|---:|---:|",
    ]
    for label, q in (("p50", 50), ("p95", 95)):
        cells = []
        for kind in ("ask", "plan"):
            low, high = r.spread(_p(kind, q))
            cells.append(f"**{ms(r.median(_p(kind, q)))}** ({ms(low)} to {ms(high)})")
        rows.append(f"| {label} (median of runs; min-max) | {cells[0]} | {cells[1]} |")
    rates = [f"{r.median(_rate(kind)):.1f}" for kind in ("ask", "plan")]
    rows.append(f"| requests per second, one after another | {rates[0]} | {rates[1]} |")
    failed = [sum(len(_timings(run, k).failures) for run in r.runs) for k in ("ask", "plan")]
    total = r.requests * len(r.runs)
    rows.append(f"| failed requests | {failed[0]} of {total} | {failed[1]} of {total} |")
    return rows


def _per_question(r: Results) -> list[str]:
    rows = [
        "| question | assets in the plan | ask p50 | plan p50 | ask minus plan (record + run) |",
        "|---|---:|---:|---:|---:|",
    ]
    targets = {s.question: s.targets for s in r.samples}
    for question in QUESTIONS:
        ask = r.median(_question_p50("ask", question))
        plan = r.median(_question_p50("plan", question))
        rows.append(
            f"| {_cell(question)} | {targets.get(question, 0):,} | {ms(ask)} | {ms(plan)} "
            f"| {ms(max(ask - plan, 0.0))} |"
        )
    return rows


def _start_up(r: Results) -> list[str]:
    cli = {key: statistics.median(values) for key, values in r.cli.items()}
    n = len(r.cli.get("ask", []))
    return [
        "| what | time |",
        "|---|---:|",
        f"| generate {r.assets:,} assets (pydantic models) | {ms(r.generate_s)} |",
        f"| write them to a fresh SQLite store (one transaction) | {ms(r.seed_s)} |",
        f"| `OpsConductor.open` (catalog, engine, migration check) | {ms(r.median(_open))} |",
        f"| inventory index build over {r.assets:,} assets, alone | {ms(r.median(_index))} |",
        f"| first request after opening ({_cell(QUESTIONS[3])!r}, builds the index) "
        f"| {ms(r.median(_first))} |",
        f"| `python -c pass` (interpreter start), median of {n} | {ms(cli.get('python', 0))} |",
        f"| `python -c 'import opsconductor.cli'` (the CLI's floor), median of {n} "
        f"| {ms(cli.get('import', 0))} |",
        f"| `opsconductor ask {QUESTIONS[0]!r} --format json`, end to end, median of {n} "
        f"| {ms(cli.get('ask', 0))} |",
    ]


def _open(run: RunResult) -> float:
    return run.open_s


def _index(run: RunResult) -> float:
    return run.index_s


def _first(run: RunResult) -> float:
    return run.first_request_s


def _samples(samples: Sequence[Sample]) -> list[str]:
    rows = ["| question | state | check | answer (shortened) |", "|---|---|---|---|"]
    for s in samples:
        check = "ok" if s.correct else f"**wrong**: expected {s.expected.strip()!r}"
        answer = _cell(shorten(s.message, 160))
        rows.append(f"| {_cell(s.question)} | {s.state} | {_cell(check)} | {answer} |")
    return rows


def _interpretation(r: Results) -> list[str]:
    p50 = r.median(_p("ask", 50))
    verdict = "meets" if p50 * 1000 < TARGET_MS else "misses"
    by_question = {q: r.median(_question_p50("ask", q)) for q in QUESTIONS}
    targets = {s.question: s.targets for s in r.samples}
    slowest = max(by_question, key=lambda q: by_question[q])
    fastest = min(by_question, key=lambda q: by_question[q])
    plan_fast = r.median(_question_p50("plan", fastest))
    cli = {key: statistics.median(values) for key, values in r.cli.items()}
    lines = [
        f"- The in-process p50 of `ask` over the mix is {ms(p50)}: it **{verdict}** the aim of "
        f"{TARGET_MS:.0f} ms. The plan-only p50 is {ms(r.median(_p('plan', 50)))}.",
        f"- Latency grows with the number of assets a question matches: "
        f"{slowest!r} ({targets.get(slowest, 0):,} assets in its plan) takes "
        f"{ms(by_question[slowest])}, {fastest!r} ({targets.get(fastest, 0):,}) "
        f"{ms(by_question[fastest])}.",
        f"- For a one-asset question, stages A-D take {ms(plan_fast)}; recording the execution "
        f"and running stage E with its bookkeeping (step rows, audit events) take the other "
        f"{ms(max(by_question[fastest] - plan_fast, 0.0))}.",
        f"- The CLI spends {ms(cli.get('import', 0))} importing before it does anything; of its "
        f"{ms(cli.get('ask', 0))}, the rest is opening the store, building the index and "
        f"answering the largest question of the mix.",
    ]
    lines.extend(_load_note(r))
    wrong = [s.question for s in r.samples if not s.correct]
    if wrong:
        listed = ", ".join(repr(q) for q in wrong)
        lines.append(f"- Wrong answers, timed all the same: {listed} (see the samples).")
    if r.failures():
        lines.append(f"- {len(r.failures())} requests failed, e.g. {r.failures()[0]!r}.")
    return lines


def _load_note(r: Results) -> list[str]:
    try:
        cores = int(r.machine["cores"])
        load = max(float(v) for k, v in r.machine.items() if k.startswith("load average"))
    except (KeyError, ValueError):
        return []
    if load < cores / 2:
        return []
    return [
        f"- The machine was busy with other work (load average up to {load:.2f} on {cores} "
        "cores), so these numbers are pessimistic; the min-max spread across runs shows how "
        "much the load moved them."
    ]


def kept_notes(path: Path) -> str:
    """The hand-written notes of an existing report, or the placeholder."""
    if not path.exists():
        return DEFAULT_NOTES
    text = path.read_text(encoding="utf-8")
    start, end = text.find(NOTES_START), text.find(NOTES_END)
    if start < 0 or end < start:
        return DEFAULT_NOTES
    return text[start + len(NOTES_START) : end].strip() or DEFAULT_NOTES


def render(r: Results, notes: str) -> str:
    """The whole of docs/benchmarks.md."""
    machine = [f"| {key} | {_cell(value)} |" for key, value in r.machine.items()]
    per_run = r.requests // len(QUESTIONS)
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python bench/run.py`); do not edit by hand except "
        "between the notes markers.",
        "",
        f"Command: `{r.command}` — took {r.wall_s:.0f} s.",
        "",
        "## Setup",
        "",
        f"- A fresh embedded SQLite store holding {r.assets:,} generated assets (seed {r.seed}): "
        "servers named like `web-prod-0042` and `db-staging-0042`, workstations like "
        "`ws-finance-0100`, switches, routers, firewalls and storage, across production, "
        "staging and development.",
        f"- Each of {len(r.runs)} run(s) opens a fresh `OpsConductor`, asks each question once to "
        f"warm up, then times {r.requests} requests one after another ({per_run} per question, "
        "in turn) through `ask` — all five stages, the execution and the audit trail "
        "persisted — and as many through `plan` (stages A-D, nothing written).",
        "- A request counts as failed unless `ask` ends `succeeded` with a message, or `plan` "
        "returns a plan. Reported numbers are the median across runs.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *machine,
        "",
        f"## In process ({r.assets:,} assets)",
        "",
        *_headline(r),
        "",
        *_per_question(r),
        "",
        "## Start-up, seeding and the CLI",
        "",
        *_start_up(r),
        "",
        "## What the questions answered",
        "",
        *_samples(r.samples),
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


def summary(r: Results) -> str:
    """A few lines for the terminal."""
    return "\n".join(
        [
            f"ask  p50 {ms(r.median(_p('ask', 50)))}  p95 {ms(r.median(_p('ask', 95)))}  "
            f"{r.median(_rate('ask')):.1f} req/s",
            f"plan p50 {ms(r.median(_p('plan', 50)))}  p95 {ms(r.median(_p('plan', 95)))}  "
            f"{r.median(_rate('plan')):.1f} req/s",
            f"first request {ms(r.median(_first))}, index build {ms(r.median(_index))}, "
            f"CLI ask {ms(statistics.median(r.cli.get('ask', [0.0])))}",
            f"failed requests: {len(r.failures())}",
        ]
    )
