"""Discovery as a normal execution: `collect_facts` planned over the assets a filter selects
(those that cannot be asked named and left out), level 1, recorded, audited; each host's facts
stored with its unit's finish, only when the tool succeeded with output its parser understood.
Here the hosts are a handler-driven fake; tests/api and tests/cli cross real sshd."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError
from tests.catalog.test_facts_parsers import UBUNTU_SERVER
from tests.conftest import FLEET, seed

from opsconductor import kinds
from opsconductor.app import OpsConductor
from opsconductor.brain.rules import RulesBrain
from opsconductor.catalog.loader import load_catalog
from opsconductor.config import Settings
from opsconductor.connectors.base import CommandResult
from opsconductor.connectors.fake import FakeCall, FakeConnector
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.execution.events import InProcessEventBus
from opsconductor.inventory.facts import facts_for
from opsconductor.inventory.models import AssetFilter
from opsconductor.pipeline import discovery
from opsconductor.store.database import Database

SWITCH = {
    "name": "core-sw-01",
    "os_type": "network",
    "device_type": "switch",
    "environment": "production",
    "connection": {"protocol": "none"},
}


def answer_by_host(call: FakeCall) -> CommandResult:
    host = call.asset.name
    if host == "web-prod-01":
        return call.exit(0, "not what a facts script prints\n")  # succeeded, not understood
    if host == "app-prod-01":
        return call.exit(1, "", "sh: permission denied\n")
    return call.exit(0, UBUNTU_SERVER)


@pytest.fixture
async def fake_fleet(settings: Settings) -> AsyncIterator[OpsConductor]:
    catalog = load_catalog(settings.catalog_dirs)
    registry = ConnectorRegistry({"ssh": FakeConnector.factory(answer_by_host)})
    db = await Database.connect(settings)
    conductor = OpsConductor(
        settings, db, catalog, RulesBrain(catalog), InProcessEventBus(), registry
    )
    try:
        await seed(conductor, [*FLEET, SWITCH])
        yield conductor
    finally:
        await conductor.close()


async def test_facts_are_stored_only_from_output_that_was_understood(
    fake_fleet: OpsConductor,
) -> None:
    production = AssetFilter(environment="production")
    answer = await discovery.discover(
        fake_fleet.pipeline, production, requester="alice", confirm=True
    )
    assert answer.plan is not None and answer.plan.approval_level == 1
    [step] = answer.plan.steps
    assert step.tool == "linux.collect_facts" and step.read_only
    assert sorted(step.targets) == ["app-prod-01", "app-prod-02", "web-prod-01", "web-prod-02"]
    assert "Not asked: core-sw-01: no connection (protocol none)." in answer.response.message
    assert answer.result is not None
    assert answer.result.status == "partially_succeeded"
    units = {s.target: s for s in answer.result.step_results}
    assert units["web-prod-01"].status == "succeeded"  # ran fine; its text is no fact
    assert units["app-prod-01"].status == "failed"

    async with fake_fleet.db.reader() as session:
        stored = await facts_for(session, [a["name"] for a in FLEET] + ["core-sw-01"])
    assert sorted(stored) == ["app-prod-02", "web-prod-02"]
    for name in stored:
        assert stored[name].values["kernel"] == "5.15.0-91-generic"
        assert stored[name].values["services"] == ["cron", "nginx", "postgresql@14-main", "ssh"]
        assert stored[name].collected_at == units[name].completed_at


async def test_without_confirmation_nothing_runs_and_no_facts_appear(
    fake_fleet: OpsConductor,
) -> None:
    answer = await discovery.discover(
        fake_fleet.pipeline, AssetFilter(text="web-prod"), requester="alice"
    )
    assert answer.execution_state == "pending_approval"
    assert answer.approval_status == "pending" and len(answer.approval_ids) == 1
    async with fake_fleet.db.reader() as session:
        assert await facts_for(session, ["web-prod-01", "web-prod-02"]) == {}


async def test_a_filter_with_nothing_to_ask_says_why_and_records_nothing(
    fake_fleet: OpsConductor,
) -> None:
    answer = await discovery.discover(
        fake_fleet.pipeline, AssetFilter(device_type="switch"), requester="alice", confirm=True
    )
    assert answer.execution_id is None and answer.response.type == "error"
    assert answer.response.message == (
        "None of the matching assets can be asked: nothing to discover. "
        "Not asked: core-sw-01: no connection (protocol none)."
    )
    empty = await discovery.discover(
        fake_fleet.pipeline, AssetFilter(text="nothing-like-this"), requester="alice"
    )
    assert empty.response.message == "No assets match: nothing to discover."


def test_discovery_toolset_is_shipped_for_both_platforms() -> None:
    catalog = load_catalog()
    tools = catalog.for_intent(discovery.FACTS_INTENT.category, discovery.FACTS_INTENT.action)
    assert {t.name for t in tools} == {"linux.collect_facts", "windows.collect_facts"}
    assert all(t.collects_facts and t.read_only and not t.parameters for t in tools)


@pytest.mark.parametrize(
    ("change", "kept"),
    [({"read_only": False}, False), ({"parser": None}, False), ({}, True)],
)
def test_only_a_read_only_tool_with_a_parser_may_collect_facts(
    change: dict[str, object], kept: bool
) -> None:
    raw = {
        "name": "tests.facts",
        "summary": "Say facts",
        "category": "testing",
        "action": "facts",
        "platforms": ["linux"],
        "connector": "shell",
        "command": ["true"],
        "parser": "linux_facts",
        "collects_facts": True,
        "risk": "medium",
        "read_only": True,
        "reversible": True,
        "estimate_s": 1,
        "timeout_s": 5,
        "examples": ["say facts on {host}"],
        **change,
    }
    if kept:
        assert kinds.parse_tool(raw).collects_facts
        return
    with pytest.raises(ValidationError, match="collects_facts needs a read-only tool"):
        kinds.parse_tool(raw)
