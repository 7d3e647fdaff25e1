"""How long recorded requests wait for the audit chain's lock, on PostgreSQL.

    make bench-audit, or: .venv/bin/python bench/audit_chain.py [--clients 20]
        [--processes 1] [--requests 400] [--runs 3]

Opens one store in a database made for the run (dropped afterwards) with a small generated
inventory, then lets `--clients` concurrent clients, spread over `--processes` processes (as
`serve --workers N` would spread them), ask a recorded question (stage E runs and writes its
execution and audit rows) until `--requests` are answered. While they do, it measures
the chain lock two ways, neither of which depends on the code under test:

* *held and waited*, per transaction, from the SQL the engine sends: a statement that takes
  `pg_advisory_xact_lock…` starts the wait, its return starts the hold, the commit ends it;
* *waiting backends*, from `pg_stat_activity` sampled every few milliseconds: how many of the
  backends in a transaction are waiting on an advisory lock at that moment.

The same script runs against any checkout (point PYTHONPATH at its `src`), so the code before and
after a change is measured alike, side by side. Prints one Markdown table row per run and the
median; exits 1 if a request failed or the trail does not verify.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import URL, event, make_url

import pipeline
from opsconductor.app import OpsConductor
from opsconductor.config import load_settings
from opsconductor.inventory import repository

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
QUESTION = "How many assets do we have?"


@dataclass
class LockClock:
    """Wait and hold times of the chain lock per transaction, from the engine's own events."""

    waits: list[float] = field(default_factory=list)
    holds: list[float] = field(default_factory=list)

    def attach(self, engine: Any) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, _c: Any, statement: str, *_: Any) -> None:
            if "pg_advisory_xact_lock" in statement and "held_since" not in conn.info:
                conn.info["waiting_since"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, _c: Any, statement: str, *_: Any) -> None:
            since = conn.info.pop("waiting_since", None)
            if since is not None:
                now = time.perf_counter()
                self.waits.append(now - since)
                conn.info["held_since"] = now

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _end(conn: Any) -> None:
            since = conn.info.pop("held_since", None)
            if since is not None:
                self.holds.append(time.perf_counter() - since)


@dataclass
class Sampled:
    busy: int = 0  # backends in a transaction, summed over samples
    waiting: int = 0  # of those, waiting on an advisory lock
    samples: int = 0
    # What the busy backends waited on, "<wait_event_type>:<wait_event>" ("running" when on
    # the CPU, not waiting), summed over samples.
    waits: Counter[str] = field(default_factory=Counter)


async def sample(url: str, stop: asyncio.Event, into: Sampled, interval_s: float = 0.005) -> None:
    """Read pg_stat_activity of the database of `url` every `interval_s` until `stop`."""
    connection = await connect(make_url(url))
    query = (
        "SELECT wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND xact_start IS NOT NULL AND state <> 'idle'"
    )
    try:
        while not stop.is_set():
            rows = await connection.fetch(query)
            into.samples += 1
            into.busy += len(rows)
            for kind, name in rows:
                into.waits[f"{kind}:{name}" if kind else "running"] += 1
                into.waiting += kind == "Lock" and name == "advisory"
            await asyncio.sleep(interval_s)
    finally:
        await connection.close()


@dataclass
class Run:
    per_s: float
    p50_ms: float
    wait_ms_per_request: float
    hold_ms: float
    waiting_share: float
    mean_waiting: float


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """A new database on the server of `admin_url`, dropped afterwards. (Not the one in
    api_load_server: that module needs the code after the change, this script runs on both.)"""
    parsed = make_url(admin_url)
    name = f"oc_bench_audit_{uuid.uuid4().hex[:10]}"
    admin = await connect(parsed)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def connect(parsed: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )


async def one_run(args: argparse.Namespace) -> Run:
    async with fresh_database(args.pg_url) as url:
        with tempfile.TemporaryDirectory() as home:
            settings = load_settings(home=Path(home), database_url=url)
            conductor = await OpsConductor.open(settings)  # migrates; makes the audit key
            try:
                async with conductor.db.session() as session:
                    assets = pipeline.generate_assets(args.assets, 20240601)
                    await repository.upsert_assets(session, assets)
                run = await _load(args, url, home)
                await _verified(conductor)
                return run
            finally:
                await conductor.close()


async def _load(args: argparse.Namespace, url: str, home: str) -> Run:
    """Start the worker processes, let them go at once, and gather what each measured."""
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            f"--pg-url={url}",
            f"--home={home}",
            f"--clients={args.clients // args.processes}",
            f"--requests={args.requests // args.processes}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(args.processes)
    ]
    for worker in workers:  # each has warmed up and waits
        assert worker.stdout is not None
        await worker.stdout.readline()
    stop, sampled = asyncio.Event(), Sampled()
    sampler = asyncio.create_task(sample(url, stop, sampled))
    started = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    outputs = [await w.communicate() for w in workers]
    wall = time.perf_counter() - started
    stop.set()
    await sampler
    if any(w.returncode for w in workers):
        raise SystemExit("a worker failed")
    measured = [json.loads(out) for out, _ in outputs]
    latencies = [x for m in measured for x in m["latencies"]]
    waits = [x for m in measured for x in m["waits"]]
    holds = [x for m in measured for x in m["holds"]]
    return Run(
        per_s=len(latencies) / wall,
        p50_ms=statistics.median(latencies) * 1000,
        wait_ms_per_request=sum(waits) / len(latencies) * 1000,
        hold_ms=statistics.median(holds) * 1000 if holds else 0.0,
        waiting_share=sampled.waiting / sampled.busy if sampled.busy else 0.0,
        mean_waiting=sampled.waiting / sampled.samples if sampled.samples else 0.0,
    )


async def worker(args: argparse.Namespace) -> int:
    """One process of clients: warm up, say so, wait for the go, ask, print what it measured."""
    settings = load_settings(home=Path(args.home), database_url=args.pg_url)
    conductor = await OpsConductor.open(settings)
    tag = os.getpid()
    try:
        for n in range(args.clients):  # warm: the inventory index, each client's first plan
            await conductor.pipeline.ask(QUESTION, requester=f"client-{tag}-{n}")
        clock = LockClock()
        clock.attach(conductor.db.engine.sync_engine)
        latencies: list[float] = []
        remaining = iter(range(args.requests))

        async def client(n: int) -> None:
            for _ in remaining:
                started = time.perf_counter()
                answer = await conductor.pipeline.ask(QUESTION, requester=f"client-{tag}-{n}")
                latencies.append(time.perf_counter() - started)
                failure = pipeline.ask_failure(answer)
                if failure:
                    raise SystemExit(f"a request failed: {failure}")

        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await asyncio.gather(*(client(n) for n in range(args.clients)))
    finally:
        await conductor.close()
    print(json.dumps({"latencies": latencies, "waits": clock.waits, "holds": clock.holds}))
    return 0


async def _verified(conductor: OpsConductor) -> None:
    try:  # after the change
        from opsconductor.store.audit_verify import verify_chain
    except ImportError:  # before it
        from opsconductor.store.audit import verify_chain  # type: ignore[attr-defined,no-redef]
    async with conductor.db.reader() as session:
        report = await verify_chain(session)
    if not report.ok:
        raise SystemExit(f"the audit trail does not verify: {report}")


def row(label: str, run: Run) -> str:
    return (
        f"| {label} | {run.per_s:.1f} | {run.p50_ms:.0f} | {run.wait_ms_per_request:.1f} | "
        f"{run.hold_ms:.2f} | {run.waiting_share:.0%} | {run.mean_waiting:.1f} |"
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20, help="in all, over the processes")
    parser.add_argument("--processes", type=int, default=1, help="processes the clients share")
    parser.add_argument("--requests", type=int, default=400, help="answered per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return await worker(args)
    print(
        "| code | answers/s | p50 ms | lock wait ms/request | lock held ms (median) | "
        "busy backends waiting | backends waiting (mean) |\n|---|---|---|---|---|---|---|"
    )
    runs = []
    for n in range(args.runs):
        runs.append(await one_run(args))
        print(row(f"{args.label}, run {n + 1}", runs[-1]), flush=True)
    median = Run(*(statistics.median(getattr(r, f) for r in runs) for f in Run.__annotations__))
    print(row(f"**{args.label}, median of {args.runs}**", median))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
