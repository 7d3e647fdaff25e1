"""Ask, approve and run through the API against real sshd hosts: a level-1 confirmation, a
level-2 four-eyes reboot run by the embedded worker, and a level-3 plan approved step by step."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.api.harness import Api, serve_api
from tests.conftest import seed
from tests.connectors.fleet import CREDENTIAL, add_key_credential, host_asset
from tests.sshhosts import SshHost, start_hosts, stop_hosts

from opsconductor.config import Settings
from opsconductor.identity.models import Role

# A level-3 plan of two steps, each of which needs its own approval.
RETIRE_TOOLSET = """
toolset: api-tests
tools:
  - name: tests.retire_database
    summary: Drop a database, then reboot its host
    category: database
    action: delete_database_reboot
    platforms: [linux]
    connector: workflow
    parameters:
      database: {pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$'}
    steps:
      - {id: drop, tool: linux.drop_database, inputs: {database: '{database}'}}
      - {id: reboot, tool: linux.reboot, depends_on: [drop]}
    risk: critical
    read_only: false
    reversible: false
    estimate_s: 20
    timeout_s: 300
    examples:
      - drop database {database} and reboot {host}
"""


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[SshHost]]:
    started = start_hosts(tmp_path_factory.mktemp("api-hosts"), 2, prefix="apihost")
    for host in started:
        # A stand-in for dropdb, so that a level-3 plan can really run here.
        (host.bin_dir / "dropdb").symlink_to(".standin")
    try:
        yield started
    finally:
        stop_hosts(started)


@pytest.fixture
async def fleet_api(settings: Settings, tmp_path: Path, hosts: list[SshHost]) -> AsyncIterator[Api]:
    """The API with the embedded worker, over a store whose assets are the sshd hosts."""
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(h.known_hosts_line() + "\n" for h in hosts))
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "retire.yaml").write_text(RETIRE_TOOLSET)
    for host in hosts:
        host.clear_received()
    overrides = {"known_hosts": known_hosts, "catalog_dirs": [catalog]}
    async with serve_api(settings.model_copy(update=overrides)) as api:
        conductor = api.conductor
        await add_key_credential(conductor, CREDENTIAL, hosts[0].client_key_path, hosts[0].username)
        await seed(conductor, [host_asset(h) for h in hosts])
        yield api


async def test_operator_asks_and_confirms_a_restart(fleet_api: Api, hosts: list[SshHost]) -> None:
    asked = await fleet_api.ask(Role.OPERATOR, "restart nginx on apihost-01")
    assert asked["approval"]["level"] == 1 and asked["approval"]["status"] == "pending"
    assert asked["execution"]["status"] == "pending_approval"
    assert asked["response"]["type"] == "approval_request"
    [approval_id] = asked["approval"]["ids"]
    assert hosts[0].received() == []  # nothing ran before the confirmation

    response = await fleet_api.client.post(
        f"/approvals/{approval_id}/approve", json={}, headers=fleet_api.headers(Role.OPERATOR)
    )
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["execution"]["status"] == "succeeded", done["response"]["message"]
    assert done["execution"]["result"]["approved_by"] == ["alice"]
    assert hosts[0].received("systemctl") == [["restart", "--", "nginx"]]
    assert hosts[1].received() == []


async def test_confirm_runs_a_level_one_plan_at_once(fleet_api: Api, hosts: list[SshHost]) -> None:
    done = await fleet_api.ask(Role.OPERATOR, "restart nginx on apihost-02", confirm=True)
    assert done["approval"]["status"] == "approved"
    assert done["execution"]["status"] == "succeeded", done["response"]["message"]
    assert hosts[1].received("systemctl") == [["restart", "--", "nginx"]]


async def test_confirm_cannot_stand_in_for_a_level_two_review(
    fleet_api: Api, hosts: list[SshHost]
) -> None:
    asked = await fleet_api.ask(Role.OPERATOR, "reboot apihost-01", confirm=True)
    assert asked["approval"]["level"] == 2 and asked["approval"]["status"] == "pending"
    assert asked["execution"]["status"] == "pending_approval"
    assert hosts[0].received() == []


async def test_four_eyes_reboot_is_run_by_the_worker(fleet_api: Api, hosts: list[SshHost]) -> None:
    asked = await fleet_api.ask(Role.OPERATOR, "reboot apihost-01")
    assert asked["approval"]["level"] == 2 and asked["mode"] == "background"
    [approval_id] = asked["approval"]["ids"]
    execution_id = asked["execution"]["id"]

    refused = await fleet_api.client.post(
        f"/approvals/{approval_id}/approve", json={}, headers=fleet_api.headers(Role.OPERATOR)
    )
    assert refused.status_code == 403, refused.text

    response = await fleet_api.client.post(
        f"/approvals/{approval_id}/approve",
        json={"comment": "maintenance window"},
        headers=fleet_api.headers(Role.APPROVER),
    )
    assert response.status_code == 200, response.text
    assert response.json()["execution"]["status"] == "queued"  # background: the worker runs it

    result = await fleet_api.wait_for_end(execution_id)
    assert result["status"] == "succeeded", result
    assert result["approved_by"] == ["bob"]
    assert hosts[0].received("reboot") == [[]]
    assert hosts[1].received() == []


async def test_level_three_asks_for_each_step_when_it_is_next(
    fleet_api: Api, hosts: list[SshHost]
) -> None:
    asked = await fleet_api.ask(Role.OPERATOR, "drop database billing and reboot apihost-02")
    assert asked["approval"]["level"] == 3
    steps = [step["id"] for step in asked["plan"]["steps"]]
    assert len(steps) == 2
    [first_id] = asked["approval"]["ids"]  # only the first step's approval exists yet
    bob = fleet_api.headers(Role.APPROVER)
    first = await fleet_api.client.post(f"/approvals/{first_id}/approve", headers=bob)
    assert first.status_code == 200, first.text
    # The worker runs the first step; the second then waits for its own approval.
    await fleet_api.wait_for_state(asked["execution"]["id"], "pending_approval")
    assert hosts[1].received("dropdb") == [["--", "billing"]]
    assert hosts[1].received("reboot") == []
    listed = await fleet_api.client.get(
        "/approvals", params={"status": "pending"}, headers=fleet_api.headers(Role.VIEWER)
    )
    [second] = listed.json()["data"]
    assert second["step_id"] == steps[1] and second["id"] != first_id

    refused = await fleet_api.client.post(
        f"/approvals/{second['id']}/approve", headers=fleet_api.headers(Role.OPERATOR)
    )
    assert refused.status_code == 403, refused.text  # the requester never approves level 3
    last = await fleet_api.client.post(f"/approvals/{second['id']}/approve", headers=bob)
    assert last.status_code == 200, last.text
    result = await fleet_api.wait_for_end(asked["execution"]["id"])
    assert result["status"] == "succeeded", result
    assert result["approved_by"] == ["bob", "bob"]
    assert hosts[1].received("dropdb") == [["--", "billing"]]
    assert hosts[1].received("reboot") == [[]]
