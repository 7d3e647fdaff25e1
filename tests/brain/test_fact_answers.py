"""Counts and lists by collected facts, end to end on SQLite: the answer says how many match,
how many are unknown (no facts, never counted as zero) and how old the facts are; a service
no asset declares but discovery saw running narrows by the facts, a declared one by the
record; a change never chooses its hosts by facts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import JsonValue
from tests.conftest import seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.inventory.facts import store_facts


def _server(name: str, env: str = "production", services: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "name": name,
        "os_type": "linux",
        "device_type": "server",
        "environment": env,
        "services": services or [],
    }


HOSTS = [
    _server("db-01", services=["haproxy"]),
    _server("db-02"),
    _server("db-03", env="staging"),
    _server("web-01", services=["haproxy"]),
    _server("web-02"),
    _server("new-01"),  # never discovered
    _server("new-02"),  # never discovered
]
FACTS: dict[str, dict[str, JsonValue]] = {
    "db-01": {"os_name": "Ubuntu", "os_version": "22.04", "cpu_count": 16, "memory_mb": 64_000},
    "db-02": {"os_name": "Ubuntu", "os_version": "22.04", "cpu_count": 8, "memory_mb": 32_000},
    "db-03": {"os_name": "Debian GNU/Linux", "os_version": "12", "memory_mb": 31_900},
    "web-01": {
        "os_name": "Ubuntu",
        "os_version": "20.04",
        "cpu_count": 2,
        "memory_mb": 3_900,
        "services": ["nginx", "sshd"],
    },
    "web-02": {"os_name": "Ubuntu", "os_version": "22.04", "cpu_count": 2, "memory_mb": 15_900},
}


@pytest.fixture
async def fleet(sqlite_settings: Settings) -> AsyncIterator[OpsConductor]:
    conductor = await OpsConductor.open(sqlite_settings)
    try:
        await seed(conductor, HOSTS)
        two_hours_ago = datetime.now(UTC) - timedelta(hours=2, minutes=5)
        async with conductor.db.session() as session:
            for name, facts in FACTS.items():
                await store_facts(session, name, facts, two_hours_ago)
        yield conductor
    finally:
        await conductor.close()


HINT = "run `opsconductor assets discover` to collect them"
COUNTS = [
    (
        "how many linux servers with more than 16 GB RAM",
        "You have 3 Linux servers with at least 17 GB of memory (facts from 2 hours ago); "
        f"2 more have no facts yet: {HINT}.",
    ),
    (
        "how many production servers with at least 8 cpus",
        "You have 2 servers in production with at least 8 CPUs (facts from 2 hours ago); "
        f"2 more have no facts yet: {HINT}.",
    ),
    (
        "how many ubuntu 22.04 boxes do we have",
        "You have 3 assets reporting ubuntu 22.04 (facts from 2 hours ago); "
        f"2 more have no facts yet: {HINT}.",
    ),
    (
        # db-03 has facts but no CPU count: unknown, and said to be apart from never asked.
        "how many servers have more than 4 cpus",
        "You have 2 servers with at least 5 CPUs (facts from 2 hours ago); 3 more are unknown "
        f"(2 without facts, 1 whose facts do not say): {HINT}.",
    ),
]


@pytest.mark.parametrize(("text", "message"), COUNTS, ids=[t for t, _ in COUNTS])
async def test_a_count_by_facts_says_unknown_and_age(
    fleet: OpsConductor, text: str, message: str
) -> None:
    answer = await fleet.pipeline.ask(text, requester="alice")
    assert answer.response.message == message, answer.decision


async def test_the_numbers_are_in_the_answer_data(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask("how many servers with 32 GB of memory", requester="alice")
    assert answer.result is not None, answer.response.message
    data = answer.result.step_results[0].data
    assert data["matched"] == 2  # db-02 and db-03, which report 31.2 GB of their 32
    assert data["total"] == 2
    assert data["unknown"] == 2 and data["unknown_assets"] == ["new-01", "new-02"]
    assert data["not_matched"] == 3
    collected = data["facts_collected_at"]
    assert collected["oldest"] == collected["newest"] is not None


async def test_a_list_by_facts_names_matches_and_unknowns_apart(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask("list the debian servers", requester="alice")
    assert answer.result is not None, answer.response.message
    data = answer.result.step_results[0].data
    assert [row["name"] for row in data["assets"]] == ["db-03"]
    assert data["unknown_assets"] == ["new-01", "new-02"]
    assert answer.response.message == (
        "1 server reporting debian (facts from 2 hours ago): db-03; "
        f"2 more have no facts yet: {HINT}."
    )


async def test_nothing_known_is_never_answered_as_none(fleet: OpsConductor) -> None:
    await seed(fleet, [_server("lab-01", env="lab"), _server("lab-02", env="lab")])
    answer = await fleet.pipeline.ask("how many lab servers with 16gb ram", requester="alice")
    assert answer.response.message == (
        "I can't tell how many servers in lab with 16 GB of memory there are: none of the 2 "
        f"assets has facts yet: {HINT}."
    )


async def test_a_service_seen_running_narrows_by_facts(fleet: OpsConductor) -> None:
    # No asset declares nginx; web-01's facts show it running.
    answer = await fleet.pipeline.ask("which hosts are running nginx", requester="alice")
    assert answer.result is not None, answer.response.message
    data = answer.result.step_results[0].data
    assert data["filter"] == {"running": "nginx"}
    assert [row["name"] for row in data["assets"]] == ["web-01"]
    # The others' facts say nothing of services (or they have none): unknown, not "no".
    assert data["unknown"] == 6 and data["without_facts"] == 2
    # haproxy is declared (and no facts say it runs): the record answers, as before.
    answer = await fleet.pipeline.ask("which hosts run haproxy", requester="alice")
    assert answer.result is not None, answer.response.message
    data = answer.result.step_results[0].data
    assert [row["name"] for row in data["assets"]] == ["db-01", "web-01"]
    assert "unknown" not in data


async def test_new_facts_are_read_without_a_restart(fleet: OpsConductor) -> None:
    text = "which servers are running redis"
    # Nothing declares redis nor was seen running it: not an inventory answer by facts.
    first = await fleet.pipeline.plan(text)
    assert first.plan is None or first.plan.steps[0].tool != "inventory.list_assets"
    async with fleet.db.session() as session:
        await store_facts(session, "db-02", {"services": ["redis"]}, datetime.now(UTC))
    answer = await fleet.pipeline.ask(text, requester="alice")
    assert answer.response.message.startswith("1 server seen running redis"), (
        answer.response.message
    )


async def test_a_change_never_chooses_hosts_by_facts(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask(
        "reboot the servers with more than 16GB RAM", requester="alice"
    )
    assert answer.plan is None and answer.response.type == "clarification"
    assert "not from collected facts" in answer.response.message
    assert answer.execution_id is None
