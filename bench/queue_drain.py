"""Benchmark of the Redis queue: background executions drained by `opsconductor worker`
processes, beside taskiq's raw no-op throughput on the same Redis.

    .venv/bin/python bench/queue_drain.py --pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

On a database it makes (and drops) on that PostgreSQL and under a Redis key prefix of its own,
each run queues N executions of `check uptime on ops-console` (one read-only step on a local
asset) with no worker running, then starts the workers and times the drain: from the first
claim to the last completion, as the store recorded them. Beside it, the same executions' own
cost: run one after another in this process by `try_run` with no queue at all; the difference
per execution with one worker running one at a time is the dispatch overhead (Redis, taskiq's
receiver, acknowledgement) beyond the execution's own writes. Then taskiq alone: N messages of
a task that does nothing, kicked and received through the same broker settings. Writes
docs/benchmarks-queue.md (the machine, the median of runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opsconductor.app import OpsConductor  # noqa: E402
from opsconductor.config import Settings, load_settings  # noqa: E402
from opsconductor.inventory import repository  # noqa: E402
from opsconductor.inventory.models import Asset  # noqa: E402
from opsconductor.queue.redis import make_broker  # noqa: E402
from opsconductor.store.tables import ExecutionRow  # noqa: E402

REQUEST = "check uptime on ops-console"
LOCAL_ASSET = {
    "name": "ops-console",
    "hostname": "localhost",
    "ip_address": "127.0.0.1",
    "os_type": "linux",
    "device_type": "server",
    "environment": "lab",
    "connection": {"protocol": "local"},
}
QUEUE_CONCURRENCY = 20  # requests queued at once while filling the queue (not timed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("OPSCONDUCTOR_TEST_DATABASE_URL")
        or "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OPSCONDUCTOR_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0",
    )
    parser.add_argument("--executions", type=int, default=1000, help="per drain")
    parser.add_argument(
        "--baseline-executions",
        type=int,
        default=200,
        help="for the in-process baseline and the one-at-a-time worker",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="per worker")
    parser.add_argument("--runs", type=int, default=3, help="runs; the report takes the median")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks-queue.md")
    parser.add_argument("--noop-child", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


@dataclass
class Drain:
    label: str
    executions: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def per_s(self) -> float:
        return self.executions / self.median_s

    @property
    def ms_each(self) -> float:
        return 1000 * self.median_s / self.executions


class Store:
    """A PostgreSQL database of the benchmark's own, made and dropped around each run."""

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url)
        self.name = f"oc_bench_queue_{uuid.uuid4().hex[:8]}"

    @property
    def url(self) -> str:
        return self.base.set(database=self.name).render_as_string(hide_password=False)

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=self.base.host,
            port=self.base.port or 5432,
            user=self.base.username,
            password=self.base.password,
            database=self.base.database,
        )

    async def create(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()

    async def drop(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


async def forget(redis_url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        keys += [k async for k in client.scan_iter(match=f"autoclaim:{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def settings_for(home: Path, db_url: str, redis_url: str | None, prefix: str) -> Settings:
    return load_settings(
        home=home,
        database_url=db_url,
        redis_url=SecretStr(redis_url) if redis_url else None,
        redis_prefix=prefix,
        immediate_threshold_s=0.001,  # every plan goes to the background
        queue_resend_s=600,  # a long drain is not a lost message: no resends to count
    )


async def fill(settings: Settings, count: int) -> list[str]:
    """Queue `count` executions (their messages sent when Redis is configured)."""
    conductor = await OpsConductor.open(settings)
    try:
        async with conductor.db.session() as session:
            await repository.upsert_assets(session, [Asset.model_validate(LOCAL_ASSET)])
        gate = asyncio.Semaphore(QUEUE_CONCURRENCY)

        async def one() -> str:
            async with gate:
                answer = await conductor.pipeline.ask(
                    REQUEST, requester="bench", wait=False, confirm=True
                )
            assert answer.execution_state == "queued", answer.response
            return str(answer.execution_id)

        return list(await asyncio.gather(*(one() for _ in range(count))))
    finally:
        await conductor.close()


async def span(settings: Settings, count: int, timeout_s: float) -> float:
    """Wait for `count` executions to succeed; the seconds from the first claim to the last
    completion, as the store recorded them."""
    conductor = await OpsConductor.open(settings)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            async with conductor.db.reader() as session:
                done = await session.scalar(
                    select(func.count()).where(ExecutionRow.state == "succeeded")
                )
                ended = await session.scalar(
                    select(func.count()).where(
                        ExecutionRow.state.notin_(["queued", "running", "approved"])
                    )
                )
                if ended == count:
                    first, last = (
                        await session.execute(
                            select(
                                func.min(ExecutionRow.started_at),
                                func.max(ExecutionRow.completed_at),
                            )
                        )
                    ).one()
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {ended} of {count} executions ended in {timeout_s}s")
            await asyncio.sleep(0.2)
    finally:
        await conductor.close()
    if done != count:
        raise RuntimeError(f"{count - int(done or 0)} executions did not succeed")
    return float((last - first).total_seconds())


async def fresh(
    args: argparse.Namespace, work: Callable[[Path, str, str], Awaitable[float]]
) -> float:
    store = Store(args.pg_url)
    prefix = f"ocbench-{uuid.uuid4().hex[:8]}"
    await store.create()
    try:
        with tempfile.TemporaryDirectory(prefix="oc-bench-queue-") as home:
            return await work(Path(home), store.url, prefix)
    finally:
        await store.drop()
        await forget(args.redis_url, prefix)


async def in_process(args: argparse.Namespace) -> float:
    """The executions' own cost: `try_run` one after another, no queue."""

    async def work(home: Path, db_url: str, prefix: str) -> float:
        settings = settings_for(home, db_url, None, prefix)
        ids = await fill(settings, args.baseline_executions)
        conductor = await OpsConductor.open(settings)
        try:
            for execution_id in ids:
                result = await conductor.executions.try_run(execution_id, worker="bench")
                assert result is not None and result.status == "succeeded", result
        finally:
            await conductor.close()
        return await span(settings, len(ids), 60)

    return await fresh(args, work)


async def with_workers(
    args: argparse.Namespace, count: int, workers: int, concurrency: int
) -> float:
    async def work(home: Path, db_url: str, prefix: str) -> float:
        settings = settings_for(home, db_url, args.redis_url, prefix)
        ids = await fill(settings, count)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONDUCTOR_")}
        env |= {
            "OPSCONDUCTOR_HOME": str(home),
            "OPSCONDUCTOR_DATABASE_URL": db_url,
            "OPSCONDUCTOR_REDIS_URL": args.redis_url,
            "OPSCONDUCTOR_REDIS_PREFIX": prefix,
            "OPSCONDUCTOR_QUEUE_RESEND_S": "600",
            "PYTHONPATH": str(ROOT / "src"),
        }
        argv = [sys.executable, "-m", "opsconductor", "worker", "--concurrency", str(concurrency)]
        procs = [
            await asyncio.create_subprocess_exec(
                *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(workers)
        ]
        try:
            return await span(settings, len(ids), 30 + count)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                await asyncio.wait_for(proc.wait(), 30)

    return await fresh(args, work)


async def taskiq_noop(args: argparse.Namespace, concurrency: int) -> tuple[float, float]:
    """Seconds to kick N no-op messages, and to receive them all with taskiq's receiver, on the
    same Redis with the broker settings the workers use. Measured in a process of its own, which
    exits as soon as it has measured: here taskiq's receiver sometimes does not stop after its
    finish event (not seen in `opsconductor worker`, which stops on SIGTERM within a second)."""
    prefix = f"ocbench-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, __file__, "--noop-child", str(concurrency)]
    argv += ["--redis-url", args.redis_url, "--executions", str(args.executions)]
    child = await asyncio.create_subprocess_exec(
        *argv, env=os.environ | {"OCBENCH_PREFIX": prefix}, stdout=subprocess.PIPE
    )
    try:
        out, _ = await asyncio.wait_for(child.communicate(), 300)
    finally:
        await forget(args.redis_url, prefix)
    kicked, drained = (float(x) for x in out.decode().split())
    return kicked, drained


async def noop_child(args: argparse.Namespace) -> None:
    concurrency = args.noop_child
    prefix = os.environ["OCBENCH_PREFIX"]
    settings = load_settings(redis_url=SecretStr(args.redis_url), redis_prefix=prefix)
    received = 0
    all_in = asyncio.Event()

    async def noop(n: int) -> None:
        nonlocal received
        received += 1
        if received == args.executions:
            all_in.set()

    sender = make_broker(settings)
    worker = make_broker(settings, consumer="bench", batch=concurrency)
    worker.is_worker_process = True
    kick = sender.register_task(noop, task_name="bench.noop")
    worker.register_task(noop, task_name="bench.noop")
    try:
        await worker.startup()  # the group, before the messages
        started = time.perf_counter()
        for n in range(args.executions):
            await kick.kiq(n)
        kicked = time.perf_counter() - started
        receiver = Receiver(
            worker,
            max_async_tasks=concurrency,
            ack_type=AcknowledgeType.WHEN_EXECUTED,
            run_startup=False,
        )
        started = time.perf_counter()
        listening = asyncio.create_task(receiver.listen(asyncio.Event()))
        await asyncio.wait_for(all_in.wait(), 120)
        drained = time.perf_counter() - started
        assert not listening.done()
        print(kicked, drained, flush=True)
        os._exit(0)  # measured: no waiting on the receiver's stop (see taskiq_noop)
    finally:
        await sender.shutdown()
        await worker.shutdown()


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("commit", commit or "unknown"),
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("load average (1 min) at start", f"{os.getloadavg()[0]:.2f}"),
    ]


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.noop_child:
        await noop_child(args)
        return 0
    started = time.monotonic()
    host = machine()
    c = args.concurrency
    drains = [
        Drain("in process, `try_run` one after another (no queue)", args.baseline_executions),
        Drain("1 worker, concurrency 1", args.baseline_executions),
        Drain(f"1 worker, concurrency {c}", args.executions),
        Drain(f"2 workers, concurrency {c} each", args.executions),
    ]
    noop: dict[int, list[tuple[float, float]]] = {1: [], c: []}
    for run in range(args.runs):
        print(f"run {run + 1} of {args.runs}", flush=True)
        drains[0].seconds.append(await in_process(args))
        drains[1].seconds.append(await with_workers(args, args.baseline_executions, 1, 1))
        drains[2].seconds.append(await with_workers(args, args.executions, 1, c))
        drains[3].seconds.append(await with_workers(args, args.executions, 2, c))
        for concurrency in noop:
            noop[concurrency].append(await taskiq_noop(args, concurrency))
        for drain in drains:
            print(f"  {drain.label}: {drain.seconds[-1]:.1f}s", flush=True)
    host.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}"))
    args.output.write_text(
        render(args, host, drains, noop, time.monotonic() - started), encoding="utf-8"
    )
    print(f"wrote {args.output}")
    return 0


def render(
    args: argparse.Namespace,
    host: list[tuple[str, str]],
    drains: list[Drain],
    noop: dict[int, list[tuple[float, float]]],
    took_s: float,
) -> str:
    baseline, one_at_a_time = drains[0], drains[1]
    overhead = one_at_a_time.ms_each - baseline.ms_each
    lines = [
        "# Queue benchmark",
        "",
        "Written by `make bench-queue` (`.venv/bin/python bench/queue_drain.py`); do not edit "
        "by hand.",
        "",
        f"Command: `.venv/bin/python bench/queue_drain.py --executions {args.executions} "
        f"--baseline-executions {args.baseline_executions} --concurrency {args.concurrency} "
        f"--runs {args.runs}` — took {took_s:.0f} s.",
        "",
        "## Setup",
        "",
        f"- Each execution is `{REQUEST}`: one read-only step that runs `uptime`'s reading on a "
        "local asset, recorded and audited like any run. PostgreSQL (a database made for each "
        "drain), Redis under a key prefix of the benchmark's own, both on this machine.",
        "- Each drain queues its executions first, with no worker running (not timed); then the "
        "`opsconductor worker` processes start; the time is from the first claim to the last "
        "completion as the store recorded them, so worker start-up is not in it.",
        "- Dispatch overhead = one worker running one at a time, per execution, minus the "
        "in-process baseline per execution: Redis, taskiq's receiver and the acknowledgement, "
        "beyond the execution's own writes.",
        f"- Numbers are the median of {args.runs} run(s).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in host],
        "",
        "## Background executions",
        "",
        "| drained by | executions | seconds (median; min-max) | executions/s | ms each |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {d.label} | {d.executions} | {d.median_s:.1f} ({min(d.seconds):.1f}-"
            f"{max(d.seconds):.1f}) | **{d.per_s:.1f}** | {d.ms_each:.1f} |"
            for d in drains
        ],
        "",
        f"Dispatch overhead per execution: **{overhead:.1f} ms** "
        f"({one_at_a_time.ms_each:.1f} ms through a worker, {baseline.ms_each:.1f} ms in "
        "process).",
        "",
        "## taskiq alone, same Redis, a task that does nothing",
        "",
        "| receiver concurrency | messages | kicked/s (one after another) | received/s |",
        "|---:|---:|---:|---:|",
    ]
    for concurrency, samples in noop.items():
        kicked = statistics.median(k for k, _ in samples)
        drained = statistics.median(d for _, d in samples)
        lines.append(
            f"| {concurrency} | {args.executions} | {args.executions / kicked:.0f} | "
            f"**{args.executions / drained:.0f}** |"
        )
    lines += [""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
