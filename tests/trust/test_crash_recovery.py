"""`kill -9` of `opsconductor serve` and of `opsconductor worker` mid-step, against real sshd
hosts: within the lease and ten seconds nothing is left `running`; a read-only step in flight
is run again, a change in flight becomes `interrupted` and waits for a person's retry, skip or
abort; the audit chain still verifies; a follower gets the end and its stream ends."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.sshhosts import SshHost
from tests.trust.conftest import Store
from tests.trust.processes import BIN, Process, finished, running, serve, set_delay, worker

from opsconductor.store.tables import AuditEventRow, ExecutionRow, StepRunRow, utcnow

RECOVERY_S = 2 + 10  # the tests' lease, and ten seconds


def ask_in_background(store: Store, url: str, text: str) -> threading.Thread:
    """Post a request whose run the test will kill: its answer never comes back."""

    def post() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
            httpx.post(
                f"{url}/requests",
                json={"text": text, "confirm": True},
                headers=store.headers("alice"),
                timeout=60,
            )

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def wait_until(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s:.0f}s: {what}")


async def executions(store: Store) -> list[ExecutionRow]:
    return await store.rows(select(ExecutionRow).order_by(ExecutionRow.created_at))


async def step_states(store: Store, execution_id: str) -> list[str]:
    return await store.rows(select(StepRunRow.state).where(StepRunRow.execution_id == execution_id))


async def audited_resolutions(store: Store, execution_id: str) -> list[AuditEventRow]:
    return await store.rows(
        select(AuditEventRow)
        .where(AuditEventRow.entity_id == execution_id)
        .where(AuditEventRow.action == "resolved")
    )


def state_of(client: httpx.Client, execution_id: str) -> str:
    status: str = client.get(f"/executions/{execution_id}").json()["status"]
    return status


def follow(url: str, headers: dict[str, str], events: list[dict[str, Any]]) -> threading.Thread:
    """Read an SSE stream to its end in a thread, keeping each event's data."""

    def read() -> None:
        with httpx.stream("GET", url, headers=headers, timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line.removeprefix("data:").strip()))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


async def test_killed_serve_mid_read_runs_the_read_again(
    store: Store, hosts: list[SshHost]
) -> None:
    host = hosts[1]
    set_delay(host, 3)
    first = serve(store.env, store.logs / "first.log")
    ask_in_background(store, first.url, f"check disk space on {host.name}")
    wait_until(lambda: host.received("df"), 20, "df started on the host")
    first.kill()
    [execution] = await executions(store)
    assert execution.state == "running"
    set_delay(host, 0)

    second = serve(store.env, store.logs / "second.log")
    with running(second), store.client(second.url, "bob") as bob:
        events: list[dict[str, Any]] = []
        follower = follow(
            f"{second.url}/executions/{execution.id}/events", store.headers("bob"), events
        )
        wait_until(
            lambda: state_of(bob, execution.id) not in {"running", "queued"},
            RECOVERY_S,
            "the execution left running",
        )
        assert state_of(bob, execution.id) == "succeeded"
        follower.join(15)
        assert not follower.is_alive(), "the follower's stream did not end"
        assert events[-1]["type"] == "complete", events
        assert events[-1]["data"]["state"] == "succeeded", events
        verified = bob.get("/audit/verify").json()
    assert len(host.received("df")) == 2  # the read-only step ran again, once
    assert verified["ok"], verified


async def test_killed_serve_mid_change_interrupts_and_waits_for_a_person(
    store: Store, hosts: list[SshHost]
) -> None:
    set_delay(hosts[0], 4)
    set_delay(hosts[1], 4)
    first = serve(store.env, store.logs / "first.log")
    ask_in_background(store, first.url, f"restart nginx on {hosts[0].name}")
    ask_in_background(store, first.url, f"restart redis on {hosts[0].name}")
    ask_in_background(store, first.url, f"restart cron on {hosts[1].name}")
    wait_until(
        lambda: len(hosts[0].received("systemctl")) == 2 and hosts[1].received("systemctl"),
        20,
        "three restarts started",
    )
    first.kill()
    by_service = {e.request_text.split()[1]: e.id for e in await executions(store)}
    set_delay(hosts[0], 0)
    set_delay(hosts[1], 0)

    second = serve(store.env, store.logs / "second.log")
    with running(second), store.client(second.url, "alice") as alice:
        for execution_id in by_service.values():
            wait_until(
                lambda e=execution_id: state_of(alice, e) == "interrupted",
                RECOVERY_S,
                "interrupted",
            )
            assert await step_states(store, execution_id) == ["interrupted"]
        assert len(hosts[0].received("systemctl")) == 2  # nothing was re-run blindly

        nobody = httpx.post(
            f"{second.url}/executions/{by_service['nginx']}/resolve",
            json={"decision": "retry"},
            headers={},
        )
        assert nobody.status_code == 401
        for service, decision in (("nginx", "retry"), ("redis", "skip"), ("cron", "abort")):
            answer = alice.post(
                f"/executions/{by_service[service]}/resolve", json={"decision": decision}
            )
            assert answer.status_code == 200, answer.text
        done = {
            service: wait_until(
                lambda e=execution_id: (
                    state_of(alice, e)
                    if state_of(alice, e) not in {"queued", "running", "interrupted"}
                    else None
                ),
                20,
                f"{service} resolved",
            )
            for service, execution_id in by_service.items()
        }
        again = alice.post(f"/executions/{by_service['cron']}/resolve", json={"decision": "retry"})
        verified = alice.get("/audit/verify").json()
    assert done == {"nginx": "succeeded", "redis": "failed", "cron": "cancelled"}
    assert again.status_code == 409  # only an interrupted execution can be resolved
    restarts = [argv for argv in hosts[0].received("systemctl") if argv[0] == "restart"]
    assert restarts.count(["restart", "--", "nginx"]) == 2  # retried, once
    assert restarts.count(["restart", "--", "redis"]) == 1  # skipped
    assert hosts[1].received("systemctl") == [["restart", "--", "cron"]]  # aborted
    for service, execution_id in by_service.items():
        [resolution] = await audited_resolutions(store, execution_id)
        assert resolution.actor == "alice", service
    assert verified["ok"], verified


@pytest.mark.parametrize("text", ["check disk space on {host}", "restart nginx on {host}"])
async def test_killed_worker_is_taken_over_by_another(
    store: Store, hosts: list[SshHost], text: str
) -> None:
    host = hosts[0]
    env = store.env | {
        "OPSCONDUCTOR_EMBEDDED_WORKER": "false",
        "OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S": "0.5",  # so that the worker runs it
    }
    set_delay(host, 4)
    api = serve(env, store.logs / "serve.log")
    first: Process = worker(env, store.logs / "worker-1.log")
    with running(api, first), store.client(api.url, "alice") as alice:
        asked = alice.post("/requests", json={"text": text.format(host=host.name), "confirm": True})
        assert asked.status_code == 200, asked.text
        execution_id = asked.json()["execution"]["id"]
        assert asked.json()["execution"]["status"] == "queued"
        program = "df" if text.startswith("check") else "systemctl"
        wait_until(lambda: host.received(program), 20, f"{program} started on the host")
        first.kill()
        set_delay(host, 0)
        second = worker(env, store.logs / "worker-2.log")
        with running(second):
            wait_until(
                lambda: state_of(alice, execution_id) not in {"running", "queued"},
                RECOVERY_S,
                "the execution left running",
            )
            state = state_of(alice, execution_id)
            if program == "df":
                assert state == "succeeded" and len(host.received("df")) == 2
            else:
                assert state == "interrupted" and len(host.received("systemctl")) == 1
                # The command line proves who decides with a token, and runs the retry itself.
                cli = [str(BIN / "opsconductor"), "executions", "resolve", execution_id]
                refused = subprocess.run(
                    [*cli, "--retry", "--as", "bob"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert refused.returncode != 0 and len(host.received("systemctl")) == 1
                retried = subprocess.run(
                    [*cli, "--retry", "--format", "json"],
                    env=env | {"OPSCONDUCTOR_TOKEN": store.tokens["alice"]},
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert retried.returncode == 0, retried.stderr
                assert json.loads(retried.stdout)["status"] == "succeeded"
                assert len(host.received("systemctl")) == 2
            assert alice.get("/audit/verify").json()["ok"]


@pytest.mark.parametrize("face", ["serve", "worker"])
async def test_sigterm_hands_a_change_that_outlasts_the_grace_over(
    store: Store, hosts: list[SshHost], face: str
) -> None:
    host = hosts[1]
    env = store.env | {"OPSCONDUCTOR_SHUTDOWN_GRACE_S": "1"}
    if face == "worker":
        env |= {
            "OPSCONDUCTOR_EMBEDDED_WORKER": "false",
            "OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S": "0.5",
        }
    set_delay(host, 30)
    api = serve(env, store.logs / "first.log")
    busy = worker(env, store.logs / "worker.log") if face == "worker" else api
    with running(api, busy):
        ask_in_background(store, api.url, f"restart nginx on {host.name}")
        wait_until(lambda: host.received("systemctl"), 20, "the restart started")
        assert busy.popen is not None
        started = time.monotonic()
        busy.popen.terminate()
        busy.popen.wait(20)
        stopped_after = time.monotonic() - started
    assert stopped_after < 12, stopped_after  # the grace, not the step's 30 s
    [execution] = await executions(store)
    # Released, not left to expire (a renewed lease would still have over a second to run):
    # the next process takes it over at its first sweep.
    assert execution.state == "running" and execution.lease_expires_at is not None
    assert execution.lease_expires_at <= utcnow()
    second = serve(store.env, store.logs / "second.log")
    with running(second), store.client(second.url, "alice") as alice:
        wait_until(lambda: state_of(alice, execution.id) == "interrupted", 5, "interrupted")
    assert finished(host, "systemctl") == []  # the command was stopped on the host
    assert len(host.received("systemctl")) == 1
