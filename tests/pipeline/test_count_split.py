"""A count split by one recorded field ('how many servers in each environment'), end to end on
SQLite and PostgreSQL: every asset of the group counted once, the split read from the rows."""

from __future__ import annotations

from collections import Counter

import pytest
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor


def by_hand(field: str, device_type: str | None = None) -> Counter[str | None]:
    return Counter(
        a.get(field)  # type: ignore[misc]
        for a in FLEET
        if device_type is None or a["device_type"] == device_type
    )


@pytest.mark.parametrize(
    "text",
    [
        "how many servers in each environment",
        "How many servers per environment?",
        "number of servers broken down by environment",
    ],
)
async def test_a_count_split_by_environment_counts_each_from_the_rows(
    conductor: OpsConductor, text: str
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(text, requester="alice")
    assert answer.execution_state == "succeeded", answer.response.message
    assert answer.result is not None
    data = answer.result.step_results[0].data
    wanted = by_hand("environment", "server")
    assert data["total"] == sum(wanted.values())
    assert {c["environment"]: c["count"] for c in data["counts"]} == dict(wanted)
    message = answer.response.message
    assert message.startswith(f"You have {sum(wanted.values())} servers, by environment: ")
    for environment, count in wanted.items():
        assert f"{count} in {environment}" in message


async def test_assets_without_the_field_are_counted_and_said(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("how many assets by owner", requester="alice")
    assert answer.result is not None
    data = answer.result.step_results[0].data
    wanted = by_hand("owner")
    assert data["total"] == len(FLEET)
    assert {c["owner"]: c["count"] for c in data["counts"]} == dict(wanted)
    assert f"{wanted[None]} with no owner recorded" in answer.response.message


async def test_a_split_the_count_cannot_make_is_asked_never_one_total(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("how many servers per region", requester="alice")
    assert answer.execution_state is None or answer.execution_state != "succeeded"
    assert "'per region'" in answer.response.message
