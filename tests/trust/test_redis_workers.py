"""Scale-out on PostgreSQL and Redis with real processes: `opsconductor serve --no-worker`
replicas queue background work, `opsconductor worker` processes (taskiq's receiver on a Redis
stream) run it, against real sshd hosts that record every command they receive.

Each execution runs exactly once, spread over the workers; `kill -9` of a worker mid-step is
recovered by the leases (a read-only step runs again, a change becomes `interrupted` and waits
for a person); a Redis restarted mid-run (it keeps nothing) loses nothing."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.sshhosts import SshHost
from tests.trust.conftest import Store
from tests.trust.processes import BIN, free_port, running, serve, set_delay, worker
from tests.trust.test_crash_recovery import (
    RECOVERY_S,
    executions,
    follow,
    state_of,
    wait_until,
)

pytestmark = pytest.mark.timeout(240)

UNFINISHED = {"queued", "running", "approved"}


@pytest.fixture
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: the store a fleet of machines shares."""
    return pg_database_url


def redis_env(store: Store, redis_url: str, prefix: str) -> dict[str, str]:
    return store.env | {
        "OPSCONDUCTOR_REDIS_URL": redis_url,
        "OPSCONDUCTOR_REDIS_PREFIX": prefix,
        "OPSCONDUCTOR_QUEUE_RESEND_S": "2",
        "OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S": "0.5",  # so that the workers run it
    }


def ask(client: httpx.Client, text: str) -> str:
    asked = client.post("/requests", json={"text": text, "confirm": True})
    assert asked.status_code == 200, asked.text
    execution = asked.json()["execution"]
    assert execution["status"] == "queued", execution
    return str(execution["id"])


def wait_all_ended(client: httpx.Client, ids: list[str], timeout_s: float) -> dict[str, str]:
    def ended() -> dict[str, str] | None:
        states = {i: state_of(client, i) for i in ids}
        return None if UNFINISHED & set(states.values()) else states

    ended_states: dict[str, str] = wait_until(ended, timeout_s, "every execution ended")
    return ended_states


def received_total(hosts: list[SshHost], program: str) -> int:
    return sum(len(h.received(program)) for h in hosts)


async def test_executions_from_two_replicas_run_once_over_two_workers(
    store: Store, hosts: list[SshHost], redis_url: str, redis_prefix: str
) -> None:
    # Leases that a loaded machine cannot let lapse: a takeover would re-run a read-only step
    # (rightly), and this test counts what the queue itself delivers.
    env = redis_env(store, redis_url, redis_prefix) | {"OPSCONDUCTOR_LEASE_S": "30"}
    for host in hosts:
        set_delay(host, 0.3)  # long enough that one worker alone cannot take everything
    replicas = [serve(env, store.logs / f"api-{n}.log", "--no-worker") for n in range(2)]
    workers = [worker(env, store.logs / f"worker-{n}.log", "--concurrency", "3") for n in range(2)]
    with running(*replicas, *workers):
        ids = []
        for n in range(20):
            with store.client(replicas[n % 2].url, "alice") as alice:
                ids.append(ask(alice, f"check disk space on {hosts[n % 2].name}"))
        with store.client(replicas[0].url, "bob") as bob:
            states = wait_all_ended(bob, ids, 90)
            shown = [bob.get(f"/executions/{i}").json() for i in ids]
        cli = subprocess.run(
            [str(BIN / "opsconductor"), "executions", "show", ids[0], "--format", "json"],
            env=env | {"OPSCONDUCTOR_TOKEN": store.tokens["bob"]},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert set(states.values()) == {"succeeded"}, states
    assert received_total(hosts, "df") == 20  # each ran exactly once
    ran_by = {s["worker"] for s in shown}
    assert len(ran_by) == 2 and all(w.startswith("worker:") for w in ran_by), ran_by
    rows = await executions(store)
    assert {r.claimed_by for r in rows} == ran_by
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["worker"] == shown[0]["worker"]


async def test_killed_worker_mid_step_is_recovered_by_the_leases(
    store: Store, hosts: list[SshHost], redis_url: str, redis_prefix: str
) -> None:
    """A read-only step in flight runs again; a change in flight is not re-run blindly: it
    waits, `interrupted`, for a person's retry, which a worker then runs."""
    env = redis_env(store, redis_url, redis_prefix)
    set_delay(hosts[0], 4)
    set_delay(hosts[1], 4)
    api = serve(env, store.logs / "api.log", "--no-worker")
    first = worker(env, store.logs / "worker-1.log", "--concurrency", "2")
    with running(api, first), store.client(api.url, "alice") as alice:
        change = ask(alice, f"restart nginx on {hosts[0].name}")
        read = ask(alice, f"check disk space on {hosts[1].name}")
        wait_until(
            lambda: hosts[0].received("systemctl") and hosts[1].received("df"),
            20,
            "both steps started on their hosts",
        )
        first.kill()
        set_delay(hosts[0], 0)
        set_delay(hosts[1], 0)
        second = worker(env, store.logs / "worker-2.log", "--concurrency", "2")
        with running(second):
            wait_until(lambda: state_of(alice, change) == "interrupted", RECOVERY_S, "interrupted")
            wait_until(lambda: state_of(alice, read) == "succeeded", RECOVERY_S, "read re-run")
            assert len(hosts[0].received("systemctl")) == 1  # nothing re-run blindly
            assert len(hosts[1].received("df")) == 2  # the read-only step ran again, once
            retried = alice.post(f"/executions/{change}/resolve", json={"decision": "retry"})
            assert retried.status_code == 200, retried.text
            wait_until(lambda: state_of(alice, change) == "succeeded", 20, "the retry ran")
            shown = alice.get(f"/executions/{change}").json()
            verified = alice.get("/audit/verify").json()
    restarts = [argv for argv in hosts[0].received("systemctl") if argv[0] == "restart"]
    assert restarts == [["restart", "--", "nginx"]] * 2  # the first, and the person's retry
    assert second.popen is not None
    assert shown["worker"] == f"worker:{socket.gethostname()}:{second.popen.pid}"
    assert verified["ok"], verified


async def test_redis_restarted_mid_run_loses_nothing(
    store: Store, hosts: list[SshHost], tmp_path: Path
) -> None:
    """Our own redis-server, killed while executions run and wait, and started again empty:
    what ran finishes, what waited (its messages gone with Redis) is sent again by the
    sweeper, what was queued while Redis was away too; each runs exactly once."""
    for host in hosts:
        set_delay(host, 0.5)
    with RedisServer(tmp_path) as redis:
        env = redis_env(store, redis.url, "restart")
        api = serve(env, store.logs / "api.log", "--no-worker")
        workers = [
            worker(env, store.logs / f"worker-{n}.log", "--concurrency", "2") for n in range(2)
        ]
        with running(api, *workers), store.client(api.url, "alice") as alice:
            ids = [ask(alice, f"check disk space on {hosts[n % 2].name}") for n in range(12)]
            wait_until(lambda: received_total(hosts, "df") >= 2, 20, "the first steps started")
            redis.kill()
            during = [ask(alice, f"check disk space on {hosts[n % 2].name}") for n in range(3)]
            redis.start()
            after = [ask(alice, f"check disk space on {hosts[n % 2].name}") for n in range(3)]
            states = wait_all_ended(alice, ids + during + after, 90)
            verified = alice.get("/audit/verify").json()
    assert set(states.values()) == {"succeeded"}, states
    assert received_total(hosts, "df") == 18  # nothing lost, nothing run twice
    assert verified["ok"], verified


class RedisServer:
    """A redis-server of the test's own on a free port, keeping nothing on disk like the
    machine's; killed and started again on the same port to stand for a Redis restart."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.server: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is missing: scripts/ensure-redis.sh installs it")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        self.server = subprocess.Popen(
            [*argv, "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"redis-server on port {self.port} did not answer")

    def kill(self) -> None:
        """SIGKILL: everything it held is gone, as after a crash of a Redis without disk."""
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
            self.server.wait(10)


async def test_an_execution_asked_through_one_replica_streams_live_from_another(
    store: Store, hosts: list[SshHost], redis_url: str, redis_prefix: str
) -> None:
    """Replica B follows what replica A queued and a worker runs: the step's output chunks,
    which are never stored, reach B only through Redis. A late joiner still gets the stored
    events, to the end."""
    env = redis_env(store, redis_url, redis_prefix)
    host = hosts[0]
    set_delay(host, 2)
    a, b = (serve(env, store.logs / f"api-{n}.log", "--no-worker") for n in "ab")
    runner = worker(env, store.logs / "worker.log")
    with running(a, b, runner):
        feed: list[dict[str, Any]] = []
        read_feed(f"{b.url}/feed", store.headers("bob"), feed)
        time.sleep(1)  # the feed is open, at the newest event
        with store.client(a.url, "alice") as alice:
            execution_id = ask(alice, f"check disk space on {host.name}")
        live: list[dict[str, Any]] = []
        follower = follow(f"{b.url}/executions/{execution_id}/events", store.headers("bob"), live)
        follower.join(60)
        assert not follower.is_alive(), "the stream did not end"
        late: list[dict[str, Any]] = []
        follow(f"{b.url}/executions/{execution_id}/events", store.headers("bob"), late).join(30)
        wait_until(
            lambda: any(
                e["type"] == "complete" and e.get("execution_id") == execution_id for e in feed
            ),
            10,
            "replica B's feed of every execution showed its end",
        )
    output = [e for e in live if e["type"] == "step_output"]
    assert output and all(e["id"] is None for e in output), live
    assert "Filesystem" in "".join(e["data"].get("chunk", "") for e in output), output
    types = [e["type"] for e in live]
    assert types.index("step_output") < types.index("step_complete") < types.index("complete")
    assert live[-1]["data"]["state"] == "succeeded"
    assert late[-1]["type"] == "complete" and late[-1]["data"]["state"] == "succeeded"
    assert all(e["id"] is not None for e in late)  # stored events only: output was live


async def test_two_workers_never_change_one_host_at_once(
    store: Store, hosts: list[SshHost], redis_url: str, redis_prefix: str
) -> None:
    """Two restarts on one host, each taken by a different worker: the second starts on the
    host only once the first has finished there."""
    env = redis_env(store, redis_url, redis_prefix) | {"OPSCONDUCTOR_LEASE_S": "30"}
    host = hosts[0]
    set_delay(host, 3)
    api = serve(env, store.logs / "api.log", "--no-worker")
    workers = [worker(env, store.logs / f"worker-{n}.log") for n in range(2)]
    with running(api, *workers), store.client(api.url, "alice") as alice:
        time.sleep(2)  # both workers read the stream: each takes one message at a time
        ids = [ask(alice, f"restart {service} on {host.name}") for service in ("nginx", "cron")]
        wait_until(lambda: host.received("systemctl"), 20, "the first restart started")
        time.sleep(1.5)  # half the first restart's time on the host
        assert len(host.received("systemctl")) == 1, "a second change started beside it"
        states = wait_all_ended(alice, ids, 60)
    assert set(states.values()) == {"succeeded"}, states
    assert len(host.received("systemctl")) == 2
    rows = await executions(store)
    assert len({r.claimed_by for r in rows}) == 2  # two workers, so the guard was fleet-wide


def read_feed(url: str, headers: dict[str, str], messages: list[dict[str, Any]]) -> None:
    """Read the endless feed in a thread until the server goes away."""

    def read() -> None:
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream("GET", url, headers=headers, timeout=60) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("data:"):
                    messages.append(json.loads(line.removeprefix("data:").strip()))

    threading.Thread(target=read, daemon=True).start()
