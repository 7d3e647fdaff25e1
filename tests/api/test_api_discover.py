"""POST /assets/discover and GET /assets/{name} against a real sshd host: the facts the host
gives are stored with when they were collected, a second discovery replaces them, and an
unreachable host has none (unknown, never zero); the execution and its audit exist."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.api.harness import Api, serve_api
from tests.conftest import seed
from tests.connectors.fleet import CREDENTIAL, add_key_credential, host_asset
from tests.sshhosts import SshHost, start_hosts, stop_hosts

from opsconductor.config import Settings
from opsconductor.identity.models import Role
from opsconductor.inventory.facts import store_facts


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once it is closed


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[SshHost]]:
    started = start_hosts(tmp_path_factory.mktemp("facts-hosts"), 1, prefix="facthost")
    try:
        yield started
    finally:
        stop_hosts(started)


@pytest.fixture
async def api(settings: Settings, tmp_path: Path, hosts: list[SshHost]) -> AsyncIterator[Api]:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(h.known_hosts_line() + "\n" for h in hosts))
    async with serve_api(settings.model_copy(update={"known_hosts": known_hosts})) as served:
        conductor = served.conductor
        await add_key_credential(conductor, CREDENTIAL, hosts[0].client_key_path, hosts[0].username)
        gone = host_asset(hosts[0]) | {"name": "facthost-gone"}
        gone["connection"] = {**host_asset(hosts[0])["connection"], "port": closed_port()}
        switch = {"name": "lab-sw-01", "os_type": "network", "device_type": "switch"}
        switch |= {"environment": "lab", "connection": {"protocol": "none"}}
        await seed(conductor, [host_asset(hosts[0]), gone, switch])
        yield served


async def discover(api: Api, role: Role, **body: Any) -> dict[str, Any]:
    response = await api.client.post("/assets/discover", json=body, headers=api.headers(role))
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def shown(api: Api, name: str) -> dict[str, Any]:
    response = await api.client.get(f"/assets/{name}", headers=api.headers(Role.VIEWER))
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def test_discovery_stores_the_hosts_facts_and_a_second_one_replaces_them(
    api: Api, hosts: list[SshHost]
) -> None:
    name = hosts[0].name
    assert (await shown(api, name))["facts"] is None  # never asked: unknown

    done = await discover(api, Role.OPERATOR, confirm=True)
    assert done["approval"]["level"] == 1 and done["approval"]["status"] == "approved"
    [step] = done["plan"]["steps"]
    assert step["tool"] == "linux.collect_facts"
    assert sorted(step["targets"]) == sorted(["facthost-gone", name])
    assert "Not asked: lab-sw-01: no connection (protocol none)." in done["response"]["message"]
    result = done["execution"]["result"]
    assert result["status"] == "partially_succeeded", result
    units = {u["target"]: u for u in result["step_results"]}
    assert units[name]["status"] == "succeeded"
    assert units["facthost-gone"]["status"] == "failed"

    first = await shown(api, name)
    facts = first["facts"]
    assert facts["kernel"] == platform.release()  # the host is this machine, over sshd
    assert facts["cpu_count"] == len(os.sched_getaffinity(0))
    assert facts["memory_mb"] > 0
    assert "/" in {d["mount"] for d in facts["disks"]}
    if Path("/etc/os-release").exists():
        assert facts["os_name"]
    collected = datetime.fromisoformat(first["facts_collected_at"])
    assert collected == datetime.fromisoformat(units[name]["completed_at"])

    gone = await shown(api, "facthost-gone")
    assert gone["facts"] is None and gone["facts_collected_at"] is None

    # A fact the host no longer reports must not survive the next discovery.
    async with api.conductor.db.session() as session:
        await store_facts(session, name, {**facts, "stale": 1}, collected)
    again = await discover(api, Role.OPERATOR, q=name, confirm=True)
    assert again["plan"]["steps"][0]["targets"] == [name]
    assert again["execution"]["result"]["status"] == "succeeded"
    second = await shown(api, name)
    assert "stale" not in second["facts"]
    assert datetime.fromisoformat(second["facts_collected_at"]) > collected

    created = await api.audit(entity_type="execution", entity_id=done["execution"]["id"])
    assert (created[0].action, created[0].actor) == ("created", "alice")
    steps = await api.audit(entity_type="step", entity_id=f"{done['execution']['id']}:{step['id']}")
    assert {e.to_state for e in steps} >= {"running", "succeeded", "failed"}


async def test_unconfirmed_discovery_waits_and_a_viewer_may_not_ask(
    api: Api, hosts: list[SshHost]
) -> None:
    pending = await discover(api, Role.OPERATOR, os_type="linux")
    assert pending["execution"]["status"] == "pending_approval"
    assert pending["approval"]["status"] == "pending"
    assert (await shown(api, hosts[0].name))["facts"] is None
    refused = await api.client.post(
        "/assets/discover", json={"confirm": True}, headers=api.headers(Role.VIEWER)
    )
    assert refused.status_code == 403
    bad = await api.client.post(
        "/assets/discover", json={"os": "linux"}, headers=api.headers(Role.OPERATOR)
    )
    assert bad.status_code == 422
