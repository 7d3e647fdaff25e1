"""Problem reports, things beyond the catalog, counts of nothing and source addresses: each is
asked about or said back, never read as something near it."""

from __future__ import annotations

import pytest
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "the billing-worker is acting up again",
            "No asset in the inventory declares billing-worker",
        ),
        (
            "URGENT the orders-db is completely down!!",
            "No asset in the inventory declares orders-db",
        ),
        ("something is broken, users are complaining", "Which host is affected"),
        ("list the docker containers on web-prod-01", "I have no tools for 'containers'"),
        ("show me the pods in the payments namespace", "'namespace', 'pods'"),
        ("how many are there?", "How many of what?"),
        (
            "lots of failed ssh logins from 203.0.113.9, brute force?",
            "which host should I show the latest failed login attempts",
        ),
    ],
)
async def test_asked_back_with_what_was_missing(
    conductor: OpsConductor, text: str, says: str
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(text, requester="alice")
    assert answer.response.type == "clarification", answer.response.message
    assert says in answer.response.message
    assert answer.execution_id is None


async def test_a_slow_host_gets_its_health_check_said_back(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.plan("ops-console is really slow today")
    assert answer.plan is not None and answer.plan.approval_level == 0
    assert all(s.read_only and s.targets == ["ops-console"] for s in answer.plan.steps)
    assert answer.response.message.startswith("I read this as: run a health check on ops-console.")


async def test_a_source_address_is_never_a_target(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.plan(
        "show failed login attempts from IP 203.0.113.9 on web-prod-01"
    )
    assert answer.plan is not None
    assert [s.targets for s in answer.plan.steps] == [["web-prod-01"]]
    assert "not narrowed to 203.0.113.9" in answer.response.message
