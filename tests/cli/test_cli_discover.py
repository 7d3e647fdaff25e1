"""`opsconductor assets discover` and `assets show` in a real process, against a real sshd
host: discovery is recorded as asked by the proven caller, runs once confirmed, stores the
host's facts with when they were collected, and `show` says when none were collected."""

from __future__ import annotations

import platform
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.cli.clirun import LOGIN, Store
from tests.conftest import seed
from tests.connectors.fleet import add_key_credential, fleet_settings, host_asset
from tests.sshhosts import SshHost, start_hosts, stop_hosts

from opsconductor.app import OpsConductor
from opsconductor.config import Settings


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[SshHost]]:
    started = start_hosts(tmp_path_factory.mktemp("cli-facts-hosts"), 1, prefix="clifacts")
    try:
        yield started
    finally:
        stop_hosts(started)


@pytest.fixture
async def store(settings: Settings, tmp_path: Path, hosts: list[SshHost]) -> AsyncIterator[Store]:
    """A store whose assets are the sshd host and one never asked (protocol none)."""
    (tmp_path / "catalog").mkdir()
    opened = fleet_settings(tmp_path, hosts, database_url=settings.database_url)
    conductor = await OpsConductor.open(opened)
    try:
        await add_key_credential(conductor, "fleet-key", hosts[0].client_key_path, LOGIN)
        quiet = {"name": "clifacts-quiet", "os_type": "linux", "device_type": "server"}
        await seed(conductor, [host_asset(hosts[0]), quiet | {"connection": {"protocol": "none"}}])
    finally:
        await conductor.close()
    yield Store(tmp_path, settings.database_url)


def known(store: Store) -> dict[str, str]:
    return {"OPSCONDUCTOR_KNOWN_HOSTS": str(store.root / "known_hosts")}


def test_discover_stores_facts_and_show_tells_when(store: Store, hosts: list[SshHost]) -> None:
    name = hosts[0].name
    never = store.cli("assets", "show", name)
    assert never.returncode == 0, never.stderr
    assert "facts: none collected" in never.stdout

    done = store.json("assets", "discover", "--name", "clifacts", "--yes", **known(store))
    assert done["approval"]["level"] == 1 and done["approval"]["status"] == "approved"
    assert done["plan"]["steps"][0]["targets"] == [name]
    assert (
        "Not asked: clifacts-quiet: no connection (protocol none)." in (done["response"]["message"])
    )
    result = done["execution"]["result"]
    assert result["status"] == "succeeded", result
    assert result["requested_by"] == LOGIN

    row = store.json("assets", "show", name)
    assert row["facts"]["kernel"] == platform.release()
    assert row["facts_collected_at"] == result["step_results"][0]["completed_at"].replace(
        "Z", "+00:00"
    )
    text = store.cli("assets", "show", name).stdout
    assert f"kernel: {platform.release()}" in text and "facts: collected at" in text

    quiet = store.json("assets", "show", "clifacts-quiet")
    assert quiet["facts"] is None and quiet["facts_collected_at"] is None

    execution = done["execution"]["id"]
    audit = store.json("audit", "list", "--entity", execution)
    actions = [(e["entity"], e["action"], e["actor"]) for e in audit]
    assert (f"execution:{execution}", "created", LOGIN) in actions
    assert any(entity.startswith(f"step:{execution}:") for entity, _, _ in actions)


def test_discover_without_yes_records_a_pending_plan_and_runs_nothing(
    store: Store, hosts: list[SshHost]
) -> None:
    pending = store.json("assets", "discover", "--os", "linux", **known(store))
    assert pending["execution"]["status"] == "pending_approval"
    assert store.json("assets", "show", hosts[0].name)["facts"] is None
    bad = store.cli("assets", "discover", "--os", "solaris")
    assert bad.returncode != 0 and "bad filter" in bad.stderr + bad.stdout
