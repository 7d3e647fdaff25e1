"""Load run of the HTTP API: concurrent clients asking inventory questions of one
`opsconductor serve`, on the embedded SQLite store and on PostgreSQL.

    make bench-api
    .venv/bin/python bench/api_load.py [--clients 50] [--duration 30] [--runs 1]
        [--compare-dry-run]

For each backend: seeds a fresh store with a generated inventory (bench/pipeline.py), starts
`opsconductor serve` (one uvicorn process with the embedded worker) on a free loopback port,
keeps the admin token it prints on first start, warms up, lets one client ask alone for
`--baseline` seconds (the latency without queueing), then `--clients` clients for `--duration`
seconds. Each window asks as an operator of its own, made with the CLI, so that the store
can be asked afterwards what exactly that window left: its executions and their audit events,
which must match the requests answered. PostgreSQL runs in a database made for the run on the
server of `--pg-url` and dropped afterwards. The server is stopped at the end, also on errors.
With `--compare-dry-run`, each timed window is followed by one of the same clients and questions
with `dry_run: true` (planned and previewed, nothing recorded or run), alternating recorded, dry,
recorded, dry …, and the report sets the two throughputs side by side.
Writes docs/benchmarks-api.md; exits 1 when a request failed or a count did not match.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import api_load_clients as clients
import api_load_report as report
import api_load_server as server
import pipeline
import run as bench_run
from api_load_results import BackendResult, RunResult
from opsconductor.inventory.models import Asset

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")
NAMES_ASKED = 500  # servers the named questions draw from


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per timed run")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per backend (median)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before timing")
    parser.add_argument(
        "--baseline", type=float, default=10.0, help="seconds of one client alone (0: none)"
    )
    parser.add_argument("--assets", type=int, default=10_000, help="inventory size")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the inventory")
    parser.add_argument(
        "--backend", choices=BACKENDS, action="append", help="only this one (repeatable)"
    )
    parser.add_argument(
        "--compare-dry-run",
        action="store_true",
        help="after each timed window, one as long with dry_run: true (recorded vs dry run)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("OPSCONDUCTOR_TEST_DATABASE_URL") or DEFAULT_PG,
        help="a PostgreSQL server on loopback where a database may be created and dropped",
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "benchmarks-api.md", help="report"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.runs < 1:
        parser.error("need --clients and --runs >= 1, --duration > 0")
    if args.warmup < 0 or args.baseline < 0:
        parser.error("need --warmup and --baseline >= 0")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def store(name: str, args: argparse.Namespace, home: Path) -> AsyncIterator[server.Backend]:
    if name == "sqlite":
        yield server.Backend(name, home)
        return
    async with server.fresh_database(args.pg_url) as url:
        yield server.Backend(name, home, url)


async def run_backend(
    name: str, args: argparse.Namespace, assets: Sequence[Asset], tmp: Path
) -> BackendResult:
    """Seed, serve, warm up, time `args.runs` windows, stop, and count in the store."""
    home = tmp / name
    async with store(name, args, home) as backend:
        result = BackendResult(name=name, assets=len(assets))
        result.seed_s = await server.seed(backend, assets)
        result.version = await server.server_version(backend)
        log(f"[{name}] {result.version}: seeded {len(assets)} assets in {result.seed_s:.1f}s")
        srv = server.Server(backend, tmp / f"serve-{name}.log")
        try:
            srv.spawn()
            await srv.wait_ready()
            await timed_runs(srv, backend, args, assets, result)
        finally:
            result.exit_code = await asyncio.to_thread(srv.stop)
            log(f"[{name}] server stopped (exit code {result.exit_code})")
        for _, timed in result.labelled():
            timed.store = await server.count_store(backend, timed.operator)
    return result


async def timed_runs(
    srv: server.Server,
    backend: server.Backend,
    args: argparse.Namespace,
    assets: Sequence[Asset],
    result: BackendResult,
) -> None:
    names = [a.name for a in assets if a.device_type == "server"][:NAMES_ASKED]
    admin, base = srv.admin_token, srv.base_url
    result.inventory = await clients.inventory_size(base, admin)
    if args.warmup:  # as the admin, so that the operators' executions are the timed ones only
        warm = await clients.run_window(
            base, admin, names, clients=args.clients, duration_s=args.warmup
        )
        log(f"[{backend.name}] warm-up: {len(warm.samples)} requests, {len(warm.failures)} failed")
    if args.baseline:
        result.baseline = await timed_run(srv, backend, "bench-op-alone", 1, args.baseline, names)
    for number in range(1, args.runs + 1):
        run = await timed_run(
            srv, backend, f"bench-op-{number}", args.clients, args.duration, names
        )
        result.runs.append(run)
        if args.compare_dry_run:  # the same window right after, so that both see the same load
            dry = await timed_run(
                srv, backend, f"bench-op-{number}-dry", args.clients, args.duration, names, True
            )
            result.dry_runs.append(dry)


async def timed_run(
    srv: server.Server,
    backend: server.Backend,
    operator: str,
    clients_n: int,
    duration_s: float,
    names: Sequence[str],
    dry_run: bool = False,
) -> RunResult:
    """One window of `clients_n` clients asking as a new operator of its own."""
    admin, base = srv.admin_token, srv.base_url
    token = await asyncio.to_thread(server.make_operator, backend, operator)
    before = await clients.served(base, admin)
    window = await clients.run_window(
        base,
        token,
        names,
        clients=clients_n,
        duration_s=duration_s,
        dry_run=dry_run,
        server_cpu=srv.cpu_seconds,
    )
    after = await clients.served(base, admin)
    counted = {code: n - before.get(code, 0) for code, n in after.items()}
    log(
        f"[{backend.name}] {operator}, {clients_n} client(s): {len(window.samples)} requests, "
        f"{len(window.failures)} failed, p50 {window.latency(50) * 1000:.0f} ms, "
        f"p99 {window.latency(99) * 1000:.0f} ms, {window.per_second:.1f} req/s, server CPU "
        f"{window.server_cpu_s / window.wall_s:.0%}, machine {window.machine_busy:.0%} busy"
    )
    return RunResult(operator, window, {k: v for k, v in counted.items() if v}, dry_run=dry_run)


async def main_async(args: argparse.Namespace, results: report.Report) -> None:
    t0 = time.perf_counter()
    assets = pipeline.generate_assets(args.assets, args.seed)
    log(f"generated {len(assets)} assets in {time.perf_counter() - t0:.1f}s")
    with tempfile.TemporaryDirectory(prefix="opsconductor-api-load-") as tmp:
        for name in args.backend or BACKENDS:
            results.backends.append(await run_backend(name, args, assets, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    machine = bench_run.machine()
    results = report.Report(
        command=shlex.join([".venv/bin/python", "bench/api_load.py", *sys.argv[1:]]),
        machine=machine,
        clients=args.clients,
        duration_s=args.duration,
        warmup_s=args.warmup,
        baseline_s=args.baseline,
        seed=args.seed,
        compare_dry_run=args.compare_dry_run,
    )
    asyncio.run(main_async(args, results))
    results.wall_s = time.perf_counter() - started
    results.machine["load average (1 min) at the end"] = bench_run.load_average()
    args.output.write_text(report.render(results, report.kept_notes(args.output)))
    log(f"wrote {args.output} after {results.wall_s:.0f}s")
    print(report.summary(results))
    return 1 if results.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
