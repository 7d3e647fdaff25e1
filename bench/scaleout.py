"""Scale-out load of the HTTP API: `opsconductor serve --no-worker` replicas and `opsconductor
worker` processes on one PostgreSQL database and one Redis, with clients spread over the replicas.

    make bench-scaleout
    .venv/bin/python bench/scaleout.py [--clients 50] [--duration 30] [--runs 1]
        [--replicas 2] [--workers 2] [--concurrency 4] [--mode inline|queued]

Makes a database on the PostgreSQL of `--pg-url` (dropped afterwards) and takes a Redis key
prefix of its own on `--redis-url` (its keys deleted afterwards); seeds the generated inventory
(bench/pipeline.py), starts the workers, then for each mode starts the replicas, warms up and
times `--runs` windows of `--clients` clients asking api_load's questions, client i asking
replica i modulo their number:

* `inline`: the shipped settings. An inventory question's plan is immediate (estimated under
  OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S), so the replica asked runs it itself and answers with the
  result; the workers get none of it.
* `queued`: the replicas with OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S=0.001, so that every plan is
  queued for the workers through Redis. POST answers `queued` at once; each client then follows
  the execution's event stream to `complete` and reads its result, and that is its latency.

During each window pg_stat_activity is sampled (bench/audit_chain.sample): what the busy
backends waited on. After the processes have stopped, the store is asked what each window left:
every request's execution, succeeded, claimed once (its lease epoch), its step rows once each,
by which process (`claimed_by`), its `created` and end audit events; and the audit hash chain is
verified, also with `opsconductor audit verify`. Writes docs/benchmarks-scaleout.md; exits 1
when a request failed or a count did not match.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import make_url

import api_load_clients as clients
import api_load_server as server
import audit_chain
import pipeline
import run as bench_run
import scaleout_report as report
from api_load import NAMES_ASKED, log
from api_load_results import BackendResult, RunResult
from queue_drain import forget
from scaleout_count import count_runs
from scaleout_report import SAMPLE_EVERY_S, ModeResult, ScaleoutRun

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
# Replica settings per mode (the workers get none of them: they do not plan).
MODES: dict[str, tuple[tuple[str, str], ...]] = {
    "inline": (),
    "queued": (("OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S", "0.001"),),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients in all")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per timed run")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per mode (median)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before timing")
    parser.add_argument("--replicas", type=int, default=2, help="`serve --no-worker` processes")
    parser.add_argument("--workers", type=int, default=2, help="`opsconductor worker` processes")
    parser.add_argument("--concurrency", type=int, default=4, help="executions per worker")
    parser.add_argument("--assets", type=int, default=10_000, help="inventory size")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the inventory")
    parser.add_argument(
        "--mode", choices=tuple(MODES), action="append", help="only this one (repeatable)"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("OPSCONDUCTOR_TEST_DATABASE_URL") or DEFAULT_PG,
        help="a PostgreSQL server on loopback where a database may be created and dropped",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OPSCONDUCTOR_TEST_REDIS_URL") or DEFAULT_REDIS,
        help="a Redis on loopback; the run uses keys under a prefix of its own",
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "benchmarks-scaleout.md", help="report"
    )
    parser.add_argument("--logs", type=Path, help="copy the processes' output to this folder")
    parser.add_argument("--samples", type=Path, help="append every timed request to this JSONL")
    args = parser.parse_args(argv)
    if min(args.clients, args.runs, args.replicas, args.workers, args.concurrency) < 1:
        parser.error("need --clients, --runs, --replicas, --workers, --concurrency >= 1")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("need --duration > 0 and --warmup >= 0")
    return args


@dataclasses.dataclass
class Fleet:
    """The processes over one store: the workers for the whole run, the replicas of a mode,
    and the admin token the first replica printed."""

    backend: server.Backend
    workers: list[server.Worker]
    replicas: list[server.Server] = dataclasses.field(default_factory=list)
    admin_token: str = ""

    @property
    def urls(self) -> list[str]:
        return [r.base_url for r in self.replicas]

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far, by process."""
        found = {f"replica {i}": r.cpu_seconds() for i, r in enumerate(self.replicas, 1)}
        return found | {f"worker {i}": w.cpu_seconds() for i, w in enumerate(self.workers, 1)}


async def run_mode(
    mode: str, fleet: Fleet, args: argparse.Namespace, names: Sequence[str], tmp: Path
) -> ModeResult:
    """Start the mode's replicas, warm up, time the runs, stop the replicas."""
    backend = dataclasses.replace(fleet.backend, extra_env=fleet.backend.extra_env + MODES[mode])
    fleet.replicas = [
        server.Server(backend, tmp / f"serve-{mode}-{i}.log", ("--no-worker",))
        for i in range(1, args.replicas + 1)
    ]
    result = ModeResult(BackendResult(name=mode, assets=args.assets))
    try:
        for replica in fleet.replicas:  # one after another: the first migrates, makes the admin
            replica.spawn()
            await replica.wait_ready(first=not fleet.admin_token)
            fleet.admin_token = fleet.admin_token or replica.admin_token
        admin = fleet.admin_token
        result.backend.inventory = await clients.inventory_size(fleet.urls[0], admin)
        if args.warmup:  # as the admin, so that the operators' executions are the timed ones
            warm = await clients.run_window(
                fleet.urls, admin, names, clients=args.clients, duration_s=args.warmup
            )
            log(f"[{mode}] warm-up: {len(warm.samples)} requests, {len(warm.failures)} failed")
        for number in range(1, args.runs + 1):
            result.runs.append(await timed_run(fleet, f"scaleout-{mode}-{number}", args, names))
            result.backend.runs.append(result.runs[-1].run)
    finally:
        codes = [await asyncio.to_thread(r.stop) for r in fleet.replicas]
        result.backend.exit_code = next(
            (c for c in codes if not server.stopped_cleanly(c)), codes[0]
        )
        log(f"[{mode}] replicas stopped (exit codes {codes})")
    return result


async def timed_run(
    fleet: Fleet, operator: str, args: argparse.Namespace, names: Sequence[str]
) -> ScaleoutRun:
    """One window as a new operator of its own, with pg_stat_activity sampled throughout."""
    admin = fleet.admin_token
    token = await asyncio.to_thread(server.make_operator, fleet.backend, operator)
    before = [await clients.served(url, admin) for url in fleet.urls]
    url = fleet.backend.database_url
    assert url is not None
    cpu0 = fleet.cpu()
    stop, sampled, database = asyncio.Event(), audit_chain.Sampled(), DatabaseCpu()
    samplers = [
        asyncio.create_task(audit_chain.sample(url, stop, sampled, SAMPLE_EVERY_S)),
        asyncio.create_task(database.watch(url, stop)),
    ]
    try:
        window = await clients.run_window(
            fleet.urls,
            token,
            names,
            clients=args.clients,
            duration_s=args.duration,
            server_cpu=lambda: sum(fleet.cpu().values()),
        )
    finally:
        stop.set()
        await asyncio.gather(*samplers)
    if args.samples:
        with args.samples.open("a", encoding="utf-8") as out:
            for sample in window.samples:
                out.write(json.dumps({"operator": operator, **dataclasses.asdict(sample)}) + "\n")
    cpu = {name: seconds - cpu0[name] for name, seconds in fleet.cpu().items()}
    cpu["database backends"] = database.seconds
    transactions = database.transactions - sampled.samples  # the wait sampler's reads
    after = [await clients.served(url, admin) for url in fleet.urls]
    per_replica = [
        {code: n - b.get(code, 0) for code, n in a.items() if n - b.get(code, 0)}
        for b, a in zip(before, after, strict=True)
    ]
    counted: dict[int, int] = {}
    for replica in per_replica:
        for code, n in replica.items():
            counted[code] = counted.get(code, 0) + n
    log(
        f"[{operator}] {len(window.samples)} requests, {len(window.failures)} failed, "
        f"p50 {window.latency(50) * 1000:.0f} ms, p99 {window.latency(99) * 1000:.0f} ms, "
        f"{window.per_second:.1f} req/s, machine {window.machine_busy:.0%} busy, "
        f"load {bench_run.load_average()}"
    )
    return ScaleoutRun(
        RunResult(operator, window, counted),
        per_replica,
        cpu,
        sampled,
        bench_run.load_average(),
        database.opened,
        transactions,
    )


@dataclasses.dataclass
class DatabaseCpu:
    """CPU of the run database's PostgreSQL backends over a window, from /proc (PostgreSQL runs
    on this machine): the part of the machine's CPU that is this run's database, apart from
    other work on a shared machine. The pools open and close backends (connections beyond a
    pool's size are closed when returned), so each backend is followed from its first sighting
    (at the start: its CPU then; later: from 0, it is new) to its last; a backend's CPU after its
    last sighting (under 0.1 s) is missed."""

    first: dict[int, float] = dataclasses.field(default_factory=dict)
    last: dict[int, float] = dataclasses.field(default_factory=dict)
    at_start: int = 0
    # Transactions the database counted (pg_stat_database, flushed by backends at most once a
    # second, so approximate), less this watcher's own reads.
    transactions: int = 0

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)

    @property
    def opened(self) -> int:
        """Backends (connections) opened during the window."""
        return len(self.first) - self.at_start

    async def watch(self, url: str, stop: asyncio.Event, every_s: float = 0.1) -> None:
        connection = await audit_chain.connect(make_url(url))
        query = (
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        starting, rounds = True, 0
        count = (
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        first_count = int(await connection.fetchval(count))
        try:
            while True:
                rounds += 1
                for row in await connection.fetch(query):
                    pid = int(row["pid"])
                    seconds = server.pid_cpu_seconds(pid)
                    self.first.setdefault(pid, seconds if starting else 0.0)
                    self.last[pid] = max(seconds, self.last.get(pid, 0.0))
                if starting:
                    self.at_start, starting = len(self.first), False
                if stop.is_set():
                    break
                await asyncio.sleep(every_s)
            self.transactions = int(await connection.fetchval(count)) - first_count - rounds - 1
        finally:
            await connection.close()


async def run_fleet(
    args: argparse.Namespace, results: report.Report, tmp: Path, url: str, prefix: str
) -> None:
    """Seed the store, start the workers, run each mode, stop the workers, count."""
    extra = (("OPSCONDUCTOR_REDIS_URL", args.redis_url), ("OPSCONDUCTOR_REDIS_PREFIX", prefix))
    backend = server.Backend("postgresql", tmp / "home", url, extra)
    assets = pipeline.generate_assets(args.assets, args.seed)
    seed_s = await server.seed(backend, assets)
    results.version = await server.server_version(backend)
    log(f"{results.version}: seeded {len(assets)} assets in {seed_s:.1f}s")
    names = [a.name for a in assets if a.device_type == "server"][:NAMES_ASKED]
    fleet = Fleet(
        backend,
        [
            server.Worker(backend, tmp / f"worker-{i}.log", args.concurrency)
            for i in range(1, args.workers + 1)
        ],
    )
    try:
        for worker in fleet.workers:
            worker.spawn()
        results.worker_names = {w.name: f"worker {i}" for i, w in enumerate(fleet.workers, 1)}
        for mode in args.mode or MODES:
            results.modes.append(await run_mode(mode, fleet, args, names, tmp))
    finally:
        results.worker_exit_codes = [await asyncio.to_thread(w.stop) for w in fleet.workers]
        log(f"workers stopped (exit codes {results.worker_exit_codes})")
    for mode in results.modes:
        for scaled in mode.runs:
            scaled.run.store = await server.count_store(backend, scaled.run.operator)
            scaled.count = await count_runs(backend, scaled.run.operator)
    results.cli_verify = await asyncio.to_thread(cli_verify, backend)


def cli_verify(backend: server.Backend) -> str:
    """What `opsconductor audit verify` says of the whole trail (a failure is said too)."""
    try:
        return server.cli(backend, "audit", "verify").strip()
    except RuntimeError as exc:
        return f"FAILED: {exc}"


def keep_logs(tmp: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for log_file in tmp.glob("*.log"):
        shutil.copy(log_file, into / log_file.name)


async def main_async(args: argparse.Namespace, results: report.Report) -> None:
    prefix = f"ocbench-scaleout-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(prefix="opsconductor-scaleout-") as tmp:
            try:
                async with server.fresh_database(args.pg_url) as url:
                    await run_fleet(args, results, Path(tmp), url, prefix)
            finally:
                if args.logs:
                    await asyncio.to_thread(keep_logs, Path(tmp), args.logs)
    finally:
        await forget(args.redis_url, prefix)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = report.Report(
        command=shlex.join([".venv/bin/python", "bench/scaleout.py", *sys.argv[1:]]),
        machine=bench_run.machine(),
        args=vars(args),
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
