"""Locations, declared services and owners, end to end on SQLite: every such qualifier is
applied to the count or list, or named back with what the inventory does record; a service a
change names with no host resolves to the hosts declared to run it, said back; "where is X"
and "what data centre" are answered from the record."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.conftest import seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings


def _asset(name: str, env: str, location: str | None, services: list[str], **more: str) -> dict:  # type: ignore[type-arg]
    return {
        "name": name,
        "hostname": f"{name}.corp.example",
        "ip_address": more.pop("ip", None),
        "os_type": more.pop("os_type", "linux"),
        "device_type": more.pop("device_type", "server"),
        "environment": env,
        "location": location,
        "services": services,
        **more,
    }


SITES = [
    _asset("pay-01", "production", "Frankfurt", ["payments-api", "nginx"], owner="Payments"),
    _asset("pay-02", "production", "Frankfurt", ["payments-api", "nginx"], owner="Payments"),
    _asset("pay-dr-01", "production", "DR", ["payments-api"], owner="Payments"),
    _asset("search-01", "production", "Dublin", ["opensearch"], owner="Search Team"),
    _asset("search-stg-01", "staging", "Dublin", ["opensearch"], owner="Search Team"),
    _asset("edge-sw-1", "production", "DR", [], device_type="switch", os_type="network"),
    _asset("build-01", "staging", None, [], owner="Platform"),
]


@pytest.fixture
async def sites(sqlite_settings: Settings) -> AsyncIterator[OpsConductor]:
    conductor = await OpsConductor.open(sqlite_settings)
    try:
        await seed(conductor, SITES)
        yield conductor
    finally:
        await conductor.close()


COUNTS = [
    ("how many servers do we have at the DR site?", "You have 1 server at DR."),
    ("How many switches are in the DR data center", "You have 1 switch at DR."),
    ("how many switches do we have in Dublin", "You have no switches at Dublin."),
    ("count the servers in frankfurt", "You have 2 servers at Frankfurt."),
    ("number of hosts running payments-api", "You have 3 assets running payments-api."),
    (
        "how many hosts run opensearch in production",
        "You have 1 asset in production running opensearch.",
    ),
    ("how many servers are owned by the search team", "You have 2 servers owned by Search Team."),
]


@pytest.mark.parametrize(("text", "message"), COUNTS, ids=[t for t, _ in COUNTS])
async def test_places_services_and_owners_narrow_the_count(
    sites: OpsConductor, text: str, message: str
) -> None:
    answer = await sites.pipeline.ask(text, requester="alice")
    assert answer.response.message == message, answer.decision


LISTS = [
    ("where does payments-api run?", ["pay-01", "pay-02", "pay-dr-01"]),
    ("which hosts run nginx", ["pay-01", "pay-02"]),
    ("list servers in Dublin", ["search-01", "search-stg-01"]),
    ("show me the staging boxes at dublin", ["search-stg-01"]),
]


@pytest.mark.parametrize(("text", "names"), LISTS, ids=[t for t, _ in LISTS])
async def test_lists_name_exactly_the_assets(
    sites: OpsConductor, text: str, names: list[str]
) -> None:
    answer = await sites.pipeline.ask(text, requester="alice")
    assert answer.result is not None, answer.response.message
    listed = [row["name"] for row in answer.result.step_results[0].data["assets"]]
    assert sorted(listed) == names


NAMED_BACK = [
    ("how many servers do we have at the paris site", ["paris site", "DR, Dublin, Frankfurt"]),
    ("how many servers are owned by the web team", ["owned by", "Payments"]),
    ("where does kafka run?", ["kafka"]),
    ("how many hosts run kafka", ["kafka"]),
]


@pytest.mark.parametrize(("text", "words"), NAMED_BACK, ids=[t for t, _ in NAMED_BACK])
async def test_what_the_inventory_does_not_record_is_named_back(
    sites: OpsConductor, text: str, words: list[str]
) -> None:
    answer = await sites.pipeline.ask(text, requester="alice")
    assert answer.response.type == "clarification", answer.response.message
    assert answer.execution_id is None
    for word in words:
        assert word in answer.response.message


async def test_a_change_to_a_declared_service_targets_its_hosts(sites: OpsConductor) -> None:
    answer = await sites.pipeline.ask("restart payments-api", requester="alice")
    assert answer.plan is not None
    assert answer.plan.steps[0].targets == ["pay-01", "pay-02", "pay-dr-01"]
    assert answer.response.message.startswith(
        "I read this as: restart payments-api on pay-01, pay-02, pay-dr-01."
    )
    assert answer.execution_state == "pending_approval"  # nothing runs before it is approved


async def test_a_change_to_an_undeclared_service_asks_for_hosts(sites: OpsConductor) -> None:
    answer = await sites.pipeline.ask("restart kafka", requester="alice")
    assert answer.plan is None and answer.response.type == "clarification"
    assert "Which host" in answer.response.message


async def test_a_fleet_wide_change_by_service_needs_a_second_person(sites: OpsConductor) -> None:
    more = [_asset(f"pay-{n:02}", "production", "Frankfurt", ["payments-api"]) for n in (3, 4)]
    await seed(sites, more)
    answer = await sites.pipeline.ask("restart payments-api", requester="alice")
    assert answer.plan is not None and len(answer.plan.steps[0].targets) == 5
    assert answer.plan.approval_level >= 2


@pytest.mark.parametrize(
    "text", ["where is pay-dr-01", "what data centre is pay-dr-01 in", "which site is pay-dr-01 at"]
)
async def test_where_an_asset_is_comes_from_its_record(sites: OpsConductor, text: str) -> None:
    answer = await sites.pipeline.ask(text, requester="alice")
    assert answer.plan is not None and answer.plan.approval_level == 0
    assert "location DR" in answer.response.message
    assert "declared services payments-api" in answer.response.message
