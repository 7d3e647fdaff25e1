"""Remote execution over SSH against real sshd processes, end to end through the pipeline."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import seed
from tests.connectors.fleet import add_key_credential, fleet_settings, host_asset, open_fleet
from tests.sshhosts import SshHost, rotate_host_key, start_hosts, stop_host, stop_hosts

from opsconductor.app import OpsConductor
from opsconductor.store.tables import AuditEventRow, StepRunRow


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[SshHost]]:
    started = start_hosts(tmp_path_factory.mktemp("hosts"), 20)
    try:
        yield started
    finally:
        stop_hosts(started)


@pytest.fixture
async def fleet(tmp_path: Path, hosts: list[SshHost]) -> AsyncIterator[OpsConductor]:
    for host in hosts:
        host.clear_received()
    conductor = await open_fleet(fleet_settings(tmp_path, hosts), hosts)
    try:
        yield conductor
    finally:
        await conductor.close()


async def test_disk_check_runs_on_the_host_and_is_answered_from_df(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask(
        "check disk space on host-01", requester="alice", confirm=True
    )
    assert answer.execution_state == "succeeded", answer.response.message
    assert answer.response.message.startswith("host-01: / is ")
    assert "GB free" in answer.response.message
    assert answer.result is not None
    step = answer.result.step_results[0]
    assert step.target == "host-01" and step.exit_code == 0
    assert any(row["mount"] == "/" for row in step.data)


async def test_restart_reaches_the_host_as_exact_arguments(
    fleet: OpsConductor, hosts: list[SshHost]
) -> None:
    answer = await fleet.pipeline.ask("restart nginx on host-02", requester="alice", confirm=True)
    assert answer.execution_state == "succeeded", answer.response.message
    assert hosts[1].received("systemctl") == [["restart", "--", "nginx"]]
    assert hosts[0].received("systemctl") == []


async def test_fan_out_over_twenty_hosts_runs_in_parallel(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask(
        "check disk space on all lab servers tagged sshtest", requester="alice", confirm=True
    )
    assert answer.execution_state == "succeeded", answer.response.message
    assert answer.response.message.startswith("20/20 hosts OK.")
    assert answer.result is not None
    steps = answer.result.step_results
    assert len({s.target for s in steps}) == 20
    last_start = max(s.started_at for s in steps if s.started_at)
    first_end = min(s.completed_at for s in steps if s.completed_at)
    assert last_start < first_end  # every host had started before any had finished


async def test_one_connection_per_host_serves_every_step(
    fleet: OpsConductor, hosts: list[SshHost]
) -> None:
    before = hosts[2].log_path.read_text().count("Accepted publickey")
    answer = await fleet.pipeline.ask("run a full health check on host-03", requester="alice")
    assert answer.execution_state == "succeeded", answer.response.message
    for part in ("up ", "/ is ", "memory", "load"):
        assert part in answer.response.message
    after = hosts[2].log_path.read_text().count("Accepted publickey")
    assert after - before == 1  # four steps, one login


@pytest.mark.parametrize(
    "value", ["nginx; rm -rf /", "$(id)", "`id`", "a'b\"c d", "x && reboot", "*", "~root"]
)
async def test_hostile_values_arrive_as_one_inert_argument(
    tmp_path: Path, hosts: list[SshHost], value: str
) -> None:
    host = hosts[3]
    host.clear_received()
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "loose.yaml").write_text(LOOSE_TOOLSET, encoding="utf-8")
    settings = fleet_settings(tmp_path, hosts, catalog_dirs=[catalog])
    conductor = await open_fleet(settings, hosts)
    try:
        answer = await conductor.pipeline.ask(
            "show the state of my unit on host-04", requester="a", dry_run=True
        )
        assert answer.plan is not None
        plan = answer.plan.model_copy(
            update={"steps": [answer.plan.steps[0].model_copy(update={"inputs": {"unit": value}})]}
        )
        assert answer.decision is not None
        row, _ = await conductor.executions.create(
            text="t", decision=answer.decision, plan=plan, requester="a"
        )
        await conductor.executions.run(row.id, worker="test")
    finally:
        await conductor.close()
    assert host.received("systemctl") == [["show", "--", value]]


LOOSE_TOOLSET = """
toolset: loose
tools:
  - name: loose.unit_show
    summary: Show a unit whose name may hold anything printable
    category: testing
    action: loose_show
    platforms: [linux]
    connector: shell
    command: [systemctl, show, --, '{unit}']
    parameters:
      unit: {pattern: '^[^\\x00-\\x1f]{1,200}$', default: 'x'}
    risk: low
    read_only: true
    reversible: true
    estimate_s: 1
    timeout_s: 20
    examples: ['show the state of my unit on {host}']
"""


async def test_unreachable_host_fails_alone(tmp_path: Path, hosts: list[SshHost]) -> None:
    spare = start_hosts(tmp_path / "spare", 1, prefix="spare")
    conductor = await open_fleet(fleet_settings(tmp_path, [*hosts, *spare]), [*hosts, *spare])
    try:
        await seed(
            conductor,
            [
                {**host_asset(spare[0]), "tags": ["pair"]},
                {**host_asset(hosts[4]), "tags": ["pair"]},
            ],
        )
        stop_host(spare[0])
        answer = await conductor.pipeline.ask(
            "check disk space on all servers tagged pair", requester="alice", confirm=True
        )
    finally:
        await conductor.close()
        stop_hosts(spare)
    assert answer.execution_state == "partially_succeeded"
    assert answer.response.message.startswith("1/2 hosts OK, 1 failed: spare-01:")
    assert answer.result is not None
    failed = next(s for s in answer.result.step_results if s.target == "spare-01")
    assert failed.error_kind == "unreachable" and "connection refused" in (failed.error or "")


async def test_wrong_key_is_an_authentication_failure(tmp_path: Path, hosts: list[SshHost]) -> None:
    others = start_hosts(tmp_path / "others", 1, prefix="other")  # its client key is not trusted
    stop_hosts(others)
    conductor = await open_fleet(fleet_settings(tmp_path, hosts), hosts)
    try:
        await add_key_credential(conductor, "wrong-key", others[0].client_key_path, "root")
        await seed(conductor, [host_asset(hosts[5], credential="wrong-key")])
        answer = await conductor.pipeline.ask(
            "check disk space on host-06", requester="a", confirm=True
        )
    finally:
        await conductor.close()
    assert answer.result is not None
    step = answer.result.step_results[0]
    assert step.error_kind == "auth_failed" and "authentication refused" in (step.error or "")


async def test_changed_host_key_is_refused(tmp_path: Path) -> None:
    [host] = start_hosts(tmp_path / "rotating", 1, prefix="rot")
    try:
        settings = fleet_settings(tmp_path, [host])
        rotate_host_key(host)
        conductor = await open_fleet(settings, [host])
        try:
            answer = await conductor.pipeline.ask(
                "check disk space on rot-01", requester="a", confirm=True
            )
        finally:
            await conductor.close()
    finally:
        stop_hosts([host])
    assert answer.result is not None
    step = answer.result.step_results[0]
    assert step.error_kind == "host_key_mismatch"
    assert "does not match" in (step.error or "")
    assert host.received() == []


async def test_trust_on_first_use_records_the_key(tmp_path: Path, hosts: list[SshHost]) -> None:
    settings = fleet_settings(tmp_path, [], ssh_trust_on_first_use=True)
    conductor = await open_fleet(settings, hosts)
    try:
        answer = await conductor.pipeline.ask(
            "check disk space on host-07", requester="a", confirm=True
        )
        async with conductor.db.session() as session:
            trusted = list(
                await session.scalars(
                    select(AuditEventRow).where(AuditEventRow.action == "host_key_trusted")
                )
            )
    finally:
        await conductor.close()
    assert answer.execution_state == "succeeded"
    assert hosts[6].host_public_key in settings.known_hosts_file.read_text()
    assert [t.entity_id for t in trusted] == ["host-07"]
    assert trusted[0].details["fingerprint"].startswith("SHA256:")


def remote_sleepers(marker: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return found.stdout.split()


async def comes_true(check: Callable[[], bool], within_s: float = 5.0) -> bool:
    """Whether `check()` holds within `within_s`: a process's start or end on the host is
    seen by looking, so look often and stop as soon as it holds."""
    async with asyncio.timeout(within_s):
        while not check():
            await asyncio.sleep(0.02)
    return True


SLEEPY_TOOLSET = """
toolset: sleepy
tools:
  - name: sleepy.nap
    summary: Sleep on the host
    category: testing
    action: nap
    platforms: [linux]
    connector: shell
    command: [sleep, '{seconds}']
    parameters:
      seconds: {pattern: '^[0-9.]+$', default: '1'}
    risk: low
    read_only: true
    reversible: true
    estimate_s: 1
    timeout_s: 1
    examples: ['take a nap on {host}']
"""


async def sleepy_conductor(tmp_path: Path, hosts: list[SshHost]) -> OpsConductor:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "sleepy.yaml").write_text(SLEEPY_TOOLSET, encoding="utf-8")
    return await open_fleet(fleet_settings(tmp_path, hosts, catalog_dirs=[catalog]), hosts)


async def run_nap(conductor: OpsConductor, seconds: str, timeout_s: float = 1) -> str:
    answer = await conductor.pipeline.ask("take a nap on host-08", requester="a", dry_run=True)
    assert answer.plan is not None and answer.decision is not None
    step = answer.plan.steps[0].model_copy(
        update={"inputs": {"seconds": seconds}, "timeout_s": timeout_s}
    )
    plan = answer.plan.model_copy(update={"steps": [step]})
    row, _ = await conductor.executions.create(
        text="nap", decision=answer.decision, plan=plan, requester="a"
    )
    return row.id


async def test_timeout_kills_the_remote_process(tmp_path: Path, hosts: list[SshHost]) -> None:
    conductor = await sleepy_conductor(tmp_path, hosts)
    try:
        execution_id = await run_nap(conductor, "31.4159")
        result = await conductor.executions.run(execution_id, worker="test")
    finally:
        await conductor.close()
    assert result.status == "timed_out"
    assert result.step_results[0].error_kind == "timeout"
    assert await comes_true(lambda: remote_sleepers("sleep 31.4159") == [], within_s=2)


async def test_cancel_stops_the_remote_process(tmp_path: Path, hosts: list[SshHost]) -> None:
    conductor = await sleepy_conductor(tmp_path, hosts)
    try:
        execution_id = await run_nap(conductor, "29.1717", timeout_s=60)
        running = asyncio.create_task(conductor.executions.run(execution_id, worker="test"))
        # until the command is really running on the host
        assert await comes_true(lambda: bool(remote_sleepers("sleep 29.1717")))
        cancelled = await conductor.executions.cancel(execution_id, "alice", "changed my mind")
        await running
    finally:
        await conductor.close()
    assert cancelled.status == "cancelled"
    assert cancelled.step_results[0].status == "cancelled"
    assert cancelled.total_duration_seconds is not None and cancelled.total_duration_seconds < 20
    assert await comes_true(lambda: remote_sleepers("sleep 29.1717") == [], within_s=2)


async def test_no_secret_in_output_logs_or_audit(
    fleet: OpsConductor, hosts: list[SshHost], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_text = hosts[0].client_key_path.read_text()
    key_body = next(line for line in key_text.splitlines() if not line.startswith("-----"))
    await fleet.pipeline.ask("check disk space on host-09", requester="a", confirm=True)
    async with fleet.db.session() as session:
        audit = [
            str(r.details) + (r.reason or "") for r in await session.scalars(select(AuditEventRow))
        ]
        outputs = [r.output + (r.error or "") for r in await session.scalars(select(StepRunRow))]
        stored = await session.scalar(select(AuditEventRow.id).limit(1))
    assert stored is not None
    for text in [*audit, *outputs, caplog.text]:
        assert key_body not in text
