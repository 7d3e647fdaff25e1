"""Answers end to end (SQLite): what the inventory tools say after the brain read the request,
worded as what was counted, every qualifier in the sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.brain.fleet import asset_rows
from tests.conftest import seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings


@pytest.fixture
async def fleet(sqlite_settings: Settings) -> AsyncIterator[OpsConductor]:
    conductor = await OpsConductor.open(sqlite_settings)
    try:
        await seed(conductor, asset_rows())
        yield conductor
    finally:
        await conductor.close()


ANSWERS = [
    ("how many linux servers do we have in production", "You have 7 Linux servers in production."),
    ("how many windows servers do we have in dev", "You have 2 Windows servers in development."),
    ("hw many windows boxes in dev", "You have 2 Windows assets in development."),
    ("how many switches do we have", "You have 3 switches."),
    ("how many switches are in the lab", "You have 1 switch in lab."),
    ("how many linux assets in dr", "You have 1 Linux asset in dr."),
    ("how many vms are in qa", "You have no assets in qa."),
    ("number of web hosts in prod", "You have 2 assets in production tagged web."),
    (
        "how many assets in production",
        "You have 13 assets in production: 7 Linux servers, 2 switches, 2 Windows servers, "
        "1 firewall and 1 storage device.",
    ),
]


@pytest.mark.parametrize(("text", "message"), ANSWERS, ids=[t for t, _ in ANSWERS])
async def test_counts_say_what_they_counted(fleet: OpsConductor, text: str, message: str) -> None:
    answer = await fleet.pipeline.ask(text, requester="alice")
    assert answer.response.message == message


async def test_a_qualifier_nothing_reads_is_never_an_unfiltered_count(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask(
        "how many switches do we have at the DR site?", requester="alice"
    )
    assert answer.plan is None and answer.execution_id is None
    assert "DR site" in answer.response.message
    assert "3" not in answer.response.message


async def test_a_list_names_its_filter(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask("list everything in staging", requester="alice")
    assert answer.response.message.startswith("4 assets in staging: app-stg-01 (10.2.2.21), ")
    assert answer.plan is not None
    assert answer.plan.steps[0].inputs == {"environment": "staging"}


async def test_which_server_is_an_ip_is_that_asset(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.ask("which server is 10.1.2.3", requester="alice")
    assert answer.plan is not None and answer.plan.approval_level == 0
    assert answer.plan.steps[0].tool == "inventory.asset_details"
    assert answer.response.message.startswith("mon-01: Linux server (Ubuntu 22.04)")
    assert "web-01" not in answer.response.message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("what OS is on web-01", "Linux server (Ubuntu 22.04)"),
        ("which operating system does win-dev-01 have", "Windows server"),
        ("who owns web-02", "owner Web Team"),
        ("who owns db-01", "owner not recorded"),
        ("what IP has app-01", "IP 10.1.2.21"),
    ],
)
async def test_record_questions_are_answered_at_level_zero(
    fleet: OpsConductor, text: str, says: str
) -> None:
    answer = await fleet.pipeline.ask(text, requester="alice")
    assert answer.plan is not None and answer.plan.approval_level == 0
    assert [s.tool for s in answer.plan.steps] == ["inventory.asset_details"]
    assert says in answer.response.message


async def test_stop_a_bare_service_name_previews_the_command(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.plan("stop svc1 on web-01")
    assert answer.response.preview is not None
    assert answer.response.preview.steps[0].commands == ["web-01: systemctl stop -- svc1"]


async def test_roll_out_is_a_deploy_to_the_staging_app_servers(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.plan("roll out api-gw 2.4 to the staging app servers")
    assert answer.plan is not None and answer.plan.approval_level >= 2
    fetch = next(s for s in answer.plan.steps if s.id == "deploy.fetch")
    assert sorted(fetch.targets) == ["app-stg-01", "app-stg-02"]
    assert fetch.inputs == {"app": "api-gw", "version": "2.4"}


async def test_a_firewall_change_no_tool_makes_is_asked_about(fleet: OpsConductor) -> None:
    answer = await fleet.pipeline.plan("update the firewall on edge-fw-2 to block udp 53")
    assert answer.plan is None
    assert "block" in answer.response.message
