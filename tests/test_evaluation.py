"""The evaluation harness: upstream inventory adapted, outcomes classified, markdown rendered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsconductor.config import load_settings
from opsconductor.evaluation import (
    EvalReport,
    Outcome,
    Request,
    RequestResult,
    Standing,
    StepRow,
    evaluate,
    fingerprint,
    load_judgements,
    main_eval,
    render_markdown,
    run_eval,
    upstream_assets,
)
from opsconductor.inventory.models import DeviceType, Protocol
from opsconductor.pipeline.answer import Answer


def upstream_asset(name: str, **fields: Any) -> dict[str, Any]:
    """An asset as the upstream sample writes it: rich, with fields we do not keep."""
    row: dict[str, Any] = {
        "name": name,
        "hostname": f"{name.lower().replace(' ', '-')}.acme.com",
        "device_type": "server",
        "os_type": "linux",
        "os_version": "Ubuntu 22.04.3 LTS",
        "environment": "production",
        "tags": ["production"],
        "owner": "Ops",
        "criticality": "high",
        "description": f"{name} for the tests",
        "hardware_make": "Dell",
        "rack_position": "U1",
        "credential_type": "ssh_key",
        "service_type": "ssh",
        "port": 22,
        "username": "admin",
        "notes": "not kept",
    }
    row.update(fields)
    return row


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    rows = [
        upstream_asset("web-01", ip_address="10.1.0.10", port=2222, data_center="DC-SJC-01"),
        upstream_asset(
            "db-01",
            ip_address="10.1.0.20",
            service_type="database",
            port=5432,
            username="postgres",
            secondary_service_type="ssh",
            secondary_port=22,
            secondary_username="dbadmin",
        ),
        upstream_asset(
            "dc-01",
            ip_address="10.1.0.30",
            os_type="windows",
            service_type="winrm",
            port=5985,
            username="ACME\\Administrator",
        ),
        upstream_asset(
            "Edge Firewall",
            ip_address="10.1.0.1",
            os_type="other",
            device_type="network",
            tags=["security", "firewall"],
            service_type="http",
            port=443,
        ),
        upstream_asset(
            "LB 01",
            os_type="other",
            device_type="network",
            tags=["load-balancer"],
            service_type="http",
            port=443,
        ),
    ]
    path = tmp_path / "assets.json"
    path.write_text(json.dumps({"source": "test", "assets": rows}), encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    rows = [
        ("t-003", "Check disk usage on 10.9.9.9", "commands"),
        ("t-001", "How many assets do we have?", "inventory"),
        ("t-002", "Check disk usage on web-01", "commands"),
        ("t-004", "Show disk usage on web-01; rm -rf /tmp/x", "commands"),
    ]
    path = tmp_path / "requests.jsonl"
    lines = [
        json.dumps({"id": i, "text": t, "group": g, "upstream_hints": {"expects": "a | b"}})
        for i, t, g in rows
    ]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_upstream_assets_are_adapted(inventory: Path) -> None:
    assets = {a.name: a for a in upstream_assets(inventory)}

    assert assets["web-01"].connection.model_dump() == {
        "protocol": Protocol.SSH,
        "port": 2222,
        "username": "admin",
        "credential": None,
    }
    # An application service is not how we reach the host: its secondary ssh service is.
    assert assets["db-01"].connection.port == 22
    assert assets["db-01"].connection.username == "dbadmin"
    assert assets["dc-01"].connection.protocol is Protocol.WINRM
    assert assets["dc-01"].connection.username == "ACME\\Administrator"
    assert assets["Edge Firewall"].device_type is DeviceType.FIREWALL
    assert assets["Edge Firewall"].connection.protocol is Protocol.NONE
    assert assets["LB 01"].device_type is DeviceType.OTHER
    assert assets["web-01"].description == "web-01 for the tests"
    assert assets["web-01"].location == "DC-SJC-01"  # the upstream's data_center
    assert assets["db-01"].location is None


async def test_run_eval_classifies_each_request(
    corpus: Path, inventory: Path, tmp_path: Path
) -> None:
    settings = load_settings(home=tmp_path / "home", database_url=None)

    report = await run_eval(corpus, inventory, settings)

    by_id = {r.request.id: r for r in report.results}
    assert report.asset_count == 5
    assert by_id["t-001"].outcome is Outcome.UNDERSTOOD
    assert by_id["t-001"].steps[0].tool.startswith("inventory.")
    assert by_id["t-002"].outcome is Outcome.UNDERSTOOD
    assert by_id["t-002"].steps[0].targets == ("web-01",)
    assert by_id["t-002"].intent is not None
    assert by_id["t-003"].outcome is Outcome.CLARIFICATION
    assert by_id["t-003"].reason == "unknown_host"
    assert "10.9.9.9" in (by_id["t-003"].question or "")
    assert by_id["t-004"].outcome is Outcome.ERROR
    assert "shell syntax" in (by_id["t-004"].message or "")


async def test_run_eval_refuses_a_store_that_is_not_fresh(
    corpus: Path, inventory: Path, tmp_path: Path
) -> None:
    settings = load_settings(home=tmp_path / "home", database_url=None)
    await run_eval(corpus, inventory, settings)

    with pytest.raises(ValueError, match="not fresh"):
        await run_eval(corpus, inventory, settings)


def test_main_eval_writes_the_markdown(corpus: Path, inventory: Path, tmp_path: Path) -> None:
    output = tmp_path / "docs" / "eval.md"

    report = main_eval(corpus, inventory, output)

    text = output.read_text(encoding="utf-8")
    assert text == render_markdown(report)
    assert "| commands | 3 | 1 | 1 | 1 | 0 |" in text
    assert "| inventory | 1 | 1 | 0 | 0 | 0 |" in text
    assert "| **total** | 4 | 2 | 1 | 1 | 0 |" in text
    assert "| **total** | 0 | 0 | 0 | 0 | 4 |" in text  # no judgements beside the output
    assert "a \\| b" in text  # pipes in cells are escaped
    commands = text.split("## commands")[1]
    assert commands.index("t-002") < commands.index("t-003") < commands.index("t-004")


def test_render_markdown_is_deterministic(corpus: Path, inventory: Path, tmp_path: Path) -> None:
    first = main_eval(corpus, inventory, tmp_path / "a.md")
    second = main_eval(corpus, inventory, tmp_path / "b.md")

    assert render_markdown(first) == render_markdown(
        EvalReport(second.corpus, second.asset_count, second.results, first.produced_on)
    )


class CrashingPlanner:
    async def plan(self, text: str) -> Answer:
        raise KeyError(text)


async def test_an_exception_from_plan_is_a_crash() -> None:
    request = Request("c-001", "Show me all assets", "crashes")

    result = await evaluate(CrashingPlanner(), request)

    assert result.outcome is Outcome.CRASH
    assert (result.message or "").startswith(
        "KeyError: 'Show me all assets' (at test_evaluation.py:"
    )


def judged(path: Path, rows: dict[str, dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(rows), encoding="utf-8")
    return path


def disk_check(targets: tuple[str, ...]) -> RequestResult:
    request = Request("d-001", "Check disk usage on web-01", "commands")
    step = StepRow("linux.disk_usage", targets)
    return RequestResult(request, Outcome.UNDERSTOOD, steps=(step,), approval_level=1)


def test_a_judgement_stands_only_for_the_outcome_it_judged(tmp_path: Path) -> None:
    judged_result = disk_check(("web-01",))
    rows = {"d-001": {"verdict": "right", "note": "df on web-01", "fingerprint": ""}}
    rows["d-001"]["fingerprint"] = fingerprint(judged_result)
    judgements = load_judgements(judged(tmp_path / "j.yaml", rows))

    same = EvalReport("c", 1, [disk_check(("web-01",))], judgements=judgements)
    moved = EvalReport("c", 1, [disk_check(("web-02",))], judgements=judgements)

    assert same.standing(same.results[0]) is Standing.RIGHT
    # Another target is another outcome: the old verdict must not carry over.
    assert moved.standing(moved.results[0]) is Standing.REJUDGE
    assert "re-judge** (`" + fingerprint(moved.results[0]) in render_markdown(moved)


def test_verdicts_are_counted_per_group_and_in_total(
    corpus: Path, inventory: Path, tmp_path: Path
) -> None:
    first = main_eval(corpus, inventory, tmp_path / "first.md")
    prints = {r.request.id: fingerprint(r) for r in first.results}
    rows = {
        "t-001": {"verdict": "right", "note": "counts all", "fingerprint": prints["t-001"]},
        "t-002": {"verdict": "wrong", "note": "a note", "fingerprint": prints["t-002"]},
        "t-003": {"verdict": "clarification", "note": "names it", "fingerprint": "0" * 12},
    }
    judgements = judged(tmp_path / "docs" / "eval-judgements.yaml", rows)

    report = main_eval(corpus, inventory, tmp_path / "docs" / "eval.md")

    text = (tmp_path / "docs" / "eval.md").read_text(encoding="utf-8")
    assert report.judgements == load_judgements(judgements)  # read from beside the output
    # right | right clarification | wrong | re-judge | not yet judged
    assert "| commands | 0 | 0 | 1 | 1 | 1 |" in text
    assert "| inventory | 1 | 0 | 0 | 0 | 0 |" in text
    assert "| **total** | 1 | 0 | 1 | 1 | 1 |" in text
    assert "**wrong**: a note" in text


@pytest.mark.parametrize(
    "row",
    [
        {"verdict": "maybe", "note": "n", "fingerprint": "0" * 12},
        {"verdict": "right", "note": "", "fingerprint": "0" * 12},
        {"verdict": "right", "note": "n"},
        {"verdict": "right", "note": "n", "fingerprint": "0" * 12, "extra": "x"},
    ],
)
def test_a_malformed_judgement_is_refused(tmp_path: Path, row: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"j\.yaml"):
        load_judgements(judged(tmp_path / "j.yaml", {"t-001": row}))


def test_no_judgement_file_means_nothing_judged(tmp_path: Path) -> None:
    assert load_judgements(tmp_path / "absent.yaml") == {}
