"""Grammar of what the brain and the inventory tools say."""

from __future__ import annotations

import pytest

from opsconductor.brain import clarify, lexicon
from opsconductor.brain.rules import RulesBrain
from opsconductor.connectors.inventory import group_phrase, kind_label
from opsconductor.inventory.models import AssetFilter


@pytest.mark.parametrize(
    ("values", "count", "phrase"),
    [
        ({"device_type": "switch"}, 3, "3 switches"),
        ({"device_type": "switch"}, 1, "1 switch"),
        ({"os_type": "linux", "environment": "dr"}, 1, "1 Linux asset in dr"),
        (
            {"os_type": "linux", "device_type": "server", "environment": "production"},
            7,
            "7 Linux servers in production",
        ),
        ({"device_type": "storage"}, 2, "2 storage devices"),
        ({"environment": "qa"}, 0, "no assets in qa"),
        ({"tags": ("web", "frontend")}, 2, "2 assets tagged web and frontend"),
        ({"text": "app", "device_type": "server"}, 4, "4 servers with 'app' in the name"),
        ({"ip_prefix": "10.1."}, 5, "5 assets with IPs in 10.1.*"),
        ({"os_type": "windows", "device_type": "server"}, None, "Windows servers"),
    ],
)
def test_group_phrase(values: dict[str, object], count: int | None, phrase: str) -> None:
    assert group_phrase(AssetFilter.model_validate(values), count) == phrase


def test_kind_label_plurals() -> None:
    assert kind_label("network", "switch", 3) == "3 switches"
    assert kind_label("linux", "server", 1) == "1 Linux server"
    assert kind_label("other", "storage", 1) == "1 storage device"


def test_every_intent_has_a_grammatical_target_question(brain: RulesBrain) -> None:
    catalog = brain.catalog
    for tool in catalog.tools.values():
        if not tool.runs_on_hosts:
            continue
        tools = catalog.for_intent(tool.category, tool.action)
        question = clarify.target_question(tools, tool.action)
        assert question.endswith("?") and "_" not in question, question
        assert question[0].isupper()


def test_questions_come_from_the_lexicon_or_the_catalog_summary(brain: RulesBrain) -> None:
    status = brain.catalog.for_intent("services", "service_status")
    assert clarify.target_question(status, "service_status") == (
        "Which host should I check the service status on?"
    )
    rollback = brain.catalog.for_intent("deploy", "rollback")
    assert "rollback" not in lexicon.TARGET_QUESTIONS
    assert clarify.target_question(rollback, "rollback") == (
        "On which host should I switch the application back to its previous release?"
    )
