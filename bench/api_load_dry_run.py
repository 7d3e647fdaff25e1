"""Recorded requests beside dry runs (bench/api_load.py --compare-dry-run): the table, the
interpretation and the setup lines of docs/benchmarks-api.md's comparison."""

from __future__ import annotations

from collections.abc import Callable

from api_load_clients import Window
from api_load_results import BackendResult, Report, RunResult
from report import ms

__all__ = ["dry_run_lines", "dry_run_section", "dry_run_setup", "rate", "ratio"]

RECORDED_TARGET = 0.5  # issue 11: recorded requests at least half as fast as dry runs


def rate(w: Window) -> float:
    return w.per_second


def ratio(b: BackendResult) -> float:
    dry = b.median(rate, b.dry_runs)
    return b.median(rate) / dry if dry else 0.0


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
        per_s = "{:,.1f}".format
        pairs = _pair_ratios(b)
        spread = f" ({min(pairs):.2f} to {max(pairs):.2f})" if len(pairs) > 1 else ""
        rows.append(
            f"| {b.name} | {per_s(b.median(rate))}{b.spread(rate, per_s)} | "
            f"{per_s(b.median(rate, b.dry_runs))}{_spread(b.dry_runs, rate, per_s)} | "
            f"**{ratio(b):.2f}**{spread} | "
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


def dry_run_lines(b: BackendResult) -> list[str]:
    times = ratio(b)
    verdict = "meets" if times >= RECORDED_TARGET else "misses"
    return [
        f"- **{b.name}, recorded vs dry run**: recorded requests got {times:.2f} times the "
        f"throughput of dry runs (median of each; {len(b.runs)} pair(s), alternating); this "
        f"{verdict} the target of at least {RECORDED_TARGET:.1f}. A dry run stops after "
        f"stage D: what it skips is stage E (the execution row, its step row and audit "
        f"events, written and committed, and the step run)."
    ]


def dry_run_setup(r: Report) -> list[str]:
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


def dry_run_section(r: Report) -> list[str]:
    if not any(b.dry_runs for b in r.backends):
        return []
    return [
        "Recorded beside dry runs (medians; the ratio's range is over each recorded run and "
        "the dry run right after it):",
        "",
        *dry_run_table(r.backends),
        "",
    ]
