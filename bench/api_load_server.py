"""The server side of the API load runs: a store seeded in a fresh home (SQLite) or a fresh
PostgreSQL database, `opsconductor serve` (one, or several replicas) and `opsconductor worker`
as child processes on loopback, users and tokens made with the CLI, and the store's own count
of what a window of requests left behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from opsconductor.app import OpsConductor
from opsconductor.config import Settings, load_settings
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset
from opsconductor.store.audit_verify import verify_chain
from opsconductor.store.tables import AuditEventRow, ExecutionRow

HOST = "127.0.0.1"  # loopback only: nothing of the run leaves the machine
START_TIMEOUT_S = 120.0
STOP_GRACE_S = 40.0  # uvicorn's graceful stop, then the embedded worker's own grace
# What `opsconductor serve` prints once, on the first start of a store without users.
TOKEN = re.compile(r"\boct_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}\b")


@dataclass(frozen=True)
class Backend:
    """Where the store lives: `database_url` None is the embedded SQLite file in `home`."""

    name: str
    home: Path
    database_url: str | None = None
    # Further OPSCONDUCTOR_ settings every process of this store gets (Redis, its prefix).
    extra_env: tuple[tuple[str, str], ...] = ()

    def settings(self) -> Settings:
        return load_settings(home=self.home, database_url=self.database_url)

    def env(self) -> dict[str, str]:
        """The environment of the server and the CLI: this store, no other OpsConductor
        settings from the caller's environment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONDUCTOR_")}
        env["OPSCONDUCTOR_HOME"] = str(self.home)
        if self.database_url:
            env["OPSCONDUCTOR_DATABASE_URL"] = self.database_url
        return env | dict(self.extra_env)


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """A new, empty database on the PostgreSQL server of `admin_url`, dropped afterwards."""
    url = make_url(admin_url)
    if url.host not in (HOST, "localhost", "::1"):
        raise SystemExit(f"refusing a PostgreSQL server off loopback: {url.host}")
    name = f"oc_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def server_version(backend: Backend) -> str:
    """The database's version, as the server reports it."""
    conductor = await OpsConductor.open(backend.settings())
    try:
        async with conductor.db.session() as session:
            if backend.database_url is None:
                query = "SELECT 'SQLite ' || sqlite_version()"
            else:
                query = "SELECT 'PostgreSQL ' || current_setting('server_version')"
            return str(await session.scalar(text(query)))
    finally:
        await conductor.close()


async def seed(backend: Backend, assets: Sequence[Asset]) -> float:
    """Migrate a fresh store and write the assets (no users yet); returns the seconds taken."""
    started = time.perf_counter()
    conductor = await OpsConductor.open(backend.settings())
    try:
        async with conductor.db.session() as session:
            await repository.upsert_assets(session, assets)
    finally:
        await conductor.close()
    return time.perf_counter() - started


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def opsconductor_command() -> str:
    return str(Path(sys.executable).with_name("opsconductor"))


def cpu_seconds(process: subprocess.Popen[bytes] | None) -> float:
    """User plus system CPU time a child process has used so far."""
    if process is None or process.poll() is not None:
        return 0.0
    return pid_cpu_seconds(process.pid)


def pid_cpu_seconds(pid: int) -> float:
    """User plus system CPU time process `pid` has used so far (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone before or while it was read
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGINT) -> int | None:
    """Stop a child as Ctrl-C (or `sig`) would, then harder if it does not go; its exit code."""
    if process is None or process.poll() is not None:
        return process.returncode if process else None
    process.send_signal(sig)
    try:
        return process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            return process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()


def stopped_cleanly(code: int | None, sig: int = signal.SIGINT) -> bool:
    """Whether an exit code is that of a process that stopped as told by `sig`: 0, or the
    signal itself (uvicorn since 0.29 re-raises the signal it handled once it has shut down
    gracefully, so `serve` ends as 128 + SIGINT, or killed by it)."""
    return code in (None, 0, -sig, 128 + sig)


def tail(log: Path, lines: int = 20) -> str:
    if not log.exists():
        return "(no output)"
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


@dataclass
class Server:
    """`opsconductor serve` as a child process; its output goes to `log` (a pipe could fill
    and stall it under load). `options` are further `serve` options (`--no-worker`)."""

    backend: Backend
    log: Path
    options: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    admin_token: str = ""

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def spawn(self) -> None:
        """Start `opsconductor serve`; `wait_ready` waits until it answers."""
        argv = [opsconductor_command(), "serve", "--host", HOST, "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*argv, *self.options],
                env=self.backend.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, *, first: bool = True) -> None:
        """Wait until /healthz answers; keep the first admin's token the server printed (only
        the `first` server of a store prints one)."""
        assert self.process is not None, "spawn() first"
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"serve exited {self.process.returncode}: {self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/api/v1/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(f"serve did not answer in {START_TIMEOUT_S:.0f}s: {self.tail()}")
        if not first:
            return
        found = TOKEN.search(self.log.read_text(encoding="utf-8", errors="replace"))
        if found is None:
            raise RuntimeError(f"serve printed no first admin token: {self.tail()}")
        self.admin_token = found.group(0)

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        return cpu_seconds(self.process)

    def stop(self) -> int | None:
        """Stop the server as Ctrl-C would, then harder if it does not go; its exit code."""
        return stop(self.process)

    def tail(self, lines: int = 20) -> str:
        return tail(self.log, lines)


@dataclass
class Worker:
    """`opsconductor worker` as a child process (Redis from the backend's environment)."""

    backend: Backend
    log: Path
    concurrency: int = 4
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        """What the worker writes as its claim (`claimed_by`): `worker:<host>:<pid>`."""
        assert self.process is not None, "spawn() first"
        return f"worker:{socket.gethostname()}:{self.process.pid}"

    def spawn(self) -> None:
        argv = [opsconductor_command(), "worker", "--concurrency", str(self.concurrency)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, env=self.backend.env(), stdout=out, stderr=subprocess.STDOUT
            )

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process)

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it (it finishes what it runs, then exits)."""
        return stop(self.process, signal.SIGTERM)


def cli(backend: Backend, *args: str) -> str:
    """Run `opsconductor ARGS` against the backend's store; its stdout."""
    done = subprocess.run(
        [opsconductor_command(), *args],
        env=backend.env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"opsconductor {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def make_operator(backend: Backend, name: str) -> str:
    """A new operator and a token for it, made with the CLI as an administrator would."""
    cli(backend, "users", "add", name, "--role", "operator")
    created = json.loads(cli(backend, "tokens", "create", name, "--format", "json"))
    return str(created["token"])


@dataclass(frozen=True)
class StoreCount:
    """What the store holds for one requester: executions by state, and their audit trail."""

    executions: int
    by_state: dict[str, int]
    execution_ids: frozenset[str]
    audit_events: int  # of those executions and their steps
    fully_audited: int  # executions with a `created` event and a transition to their end state
    auth_refusals: int  # refused tokens and permissions in the whole store
    chain_ok: bool
    chain_checked: int


async def count_store(backend: Backend, requester: str) -> StoreCount:
    """Count, in the store itself, what `requester`'s requests left behind."""
    conductor = await OpsConductor.open(backend.settings())
    try:
        async with conductor.db.session() as session:
            rows = (
                await session.execute(
                    select(ExecutionRow.id, ExecutionRow.state).where(
                        ExecutionRow.requested_by == requester
                    )
                )
            ).all()
            states = {execution_id: state for execution_id, state in rows}
            events: list[AuditRow] = [
                tuple(row)  # type: ignore[misc]
                for row in await session.execute(
                    select(
                        AuditEventRow.entity_type,
                        AuditEventRow.entity_id,
                        AuditEventRow.action,
                        AuditEventRow.to_state,
                        # By entity, not actor: a worker, not the requester, ends a queued run.
                    ).where(AuditEventRow.entity_type.in_(["execution", "step"]))
                )
            ]
            refusals = await session.scalar(
                select(func.count()).where(AuditEventRow.entity_type == "auth")
            )
            chain = await verify_chain(session)
    finally:
        await conductor.close()
    return StoreCount(
        executions=len(states),
        by_state=dict(Counter(states.values())),
        execution_ids=frozenset(states),
        audit_events=sum(_execution_of(kind, entity) in states for kind, entity, *_ in events),
        fully_audited=_fully_audited(states, events),
        auth_refusals=int(refusals or 0),
        chain_ok=chain.ok,
        chain_checked=chain.checked,
    )


def _execution_of(kind: str, entity: str) -> str:
    # Steps are audited as "<execution id>:<step id>".
    return entity.split(":", 1)[0] if kind == "step" else entity


AuditRow = tuple[str, str, str, str | None]  # entity_type, entity_id, action, to_state


def _fully_audited(states: dict[str, str], events: Sequence[AuditRow]) -> int:
    created: set[str] = set()
    ended: set[str] = set()
    for kind, entity, action, to_state in events:
        if kind != "execution" or entity not in states:
            continue
        if action == "created":
            created.add(entity)
        elif action == "transition" and to_state == states[entity]:
            ended.add(entity)
    return len(created & ended)
