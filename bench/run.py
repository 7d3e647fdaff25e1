"""Benchmark of the pipeline on inventory questions over a 10,000-asset inventory.

    .venv/bin/python bench/run.py            # or: make bench

Seeds a fresh embedded store in a temporary folder, times `OpsConductor.ask` (stages A to E, with
the execution and audit trail persisted) and `OpsConductor.plan` (stages A to D) in process, times
the CLI end to end, and writes docs/benchmarks.md. Failed requests are counted, never timed as
successes; the exit code is 1 when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pipeline
import report

ROOT = Path(__file__).resolve().parent.parent
CLI_QUESTION = pipeline.QUESTIONS[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000, help="inventory size")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the inventory")
    parser.add_argument(
        "--requests",
        type=int,
        default=30,
        help="timed requests per run, for ask and again for plan, cycling through the questions",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs; the report takes the median")
    parser.add_argument("--cli-runs", type=int, default=5, help="timed CLI invocations")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "benchmarks.md", help="report to write"
    )
    args = parser.parse_args(argv)
    if args.requests < len(pipeline.QUESTIONS) or args.runs < 1 or args.cli_runs < 1:
        parser.error(f"need --requests >= {len(pipeline.QUESTIONS)}, --runs and --cli-runs >= 1")
    return args


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "commit": _commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load average (1 min) at start": load_average(),
    }


def load_average() -> str:
    """Other work on the machine skews the numbers; the report shows how much there was."""
    return f"{os.getloadavg()[0]:.2f}"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def cli_env(home: Path) -> dict[str, str]:
    """The environment for the CLI: the seeded home, and no other OpsConductor settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONDUCTOR_")}
    env["OPSCONDUCTOR_HOME"] = str(home)
    return env


def time_command(argv: list[str], env: dict[str, str], runs: int, *, ask: bool) -> list[float]:
    """Wall seconds of each of `runs` invocations; raises when one fails."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr}")
        if ask:
            execution = json.loads(done.stdout).get("execution") or {}
            if execution.get("status") != "succeeded":
                raise RuntimeError(f"{shlex.join(argv)} did not succeed: {done.stdout[:500]}")
    return times


def time_cli(home: Path, runs: int) -> dict[str, list[float]]:
    """The interpreter alone, the CLI's imports alone, and a whole `opsconductor ask`."""
    env = cli_env(home)
    python = sys.executable
    command = str(Path(python).with_name("opsconductor"))
    return {
        "python": time_command([python, "-c", "pass"], env, runs, ask=False),
        "import": time_command([python, "-c", "import opsconductor.cli"], env, runs, ask=False),
        "ask": time_command(
            [command, "ask", CLI_QUESTION, "--format", "json"], env, runs, ask=True
        ),
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def in_process(args: argparse.Namespace, home: Path, results: report.Results) -> None:
    t0 = time.perf_counter()
    assets = pipeline.generate_assets(args.assets, args.seed)
    results.generate_s = time.perf_counter() - t0
    results.seed_s = await pipeline.seed(home, assets)
    log(f"seeded {len(assets)} assets in {results.generate_s + results.seed_s:.1f}s")
    results.samples = await pipeline.sample_answers(home, assets)
    for sample in results.samples:
        mark = "ok " if sample.correct else "BAD"
        log(f"  {mark} {sample.question} -> {report.shorten(sample.message, 110)}")
    warmup = len(pipeline.QUESTIONS)
    for number in range(1, args.runs + 1):
        run = await pipeline.run_once(home, args.requests, warmup)
        results.runs.append(run)
        log(
            f"run {number}/{args.runs}: ask p50 {run.ask.percentile(50) * 1000:.1f} ms, "
            f"plan p50 {run.plan.percentile(50) * 1000:.1f} ms, "
            f"{len(run.ask.failures) + len(run.plan.failures)} failed"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = report.Results(
        command=shlex.join([".venv/bin/python", "bench/run.py", *sys.argv[1:]]),
        machine=machine(),
        assets=args.assets,
        seed=args.seed,
        requests=args.requests,
        runs=[],
    )
    with tempfile.TemporaryDirectory(prefix="opsconductor-bench-") as tmp:
        home = Path(tmp)
        asyncio.run(in_process(args, home, results))
        log(f"timing the CLI {args.cli_runs} times")
        results.cli = time_cli(home, args.cli_runs)
    results.wall_s = time.perf_counter() - started
    results.machine["load average (1 min) at the end"] = load_average()
    args.output.write_text(report.render(results, report.kept_notes(args.output)))
    log(f"wrote {args.output} after {results.wall_s:.0f}s")
    print(report.summary(results))
    return 1 if results.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
