"""Clause rules of the context reader, against our own fleet: lists of checks, lists of
services, ';' and ',' between orders, changes on a condition, what 'including' lists, paths
'between' two ends, narrowing an earlier answer, and requests in another language."""

from __future__ import annotations

import pytest
from tests.brain.fleet import fleet_index

from opsconductor.brain.base import BrainRequest, Context
from opsconductor.brain.index import AssetKey, InventoryIndex
from opsconductor.brain.rules import RulesBrain
from opsconductor.pipeline.conversations import after_turn
from opsconductor.schemas.decision import DecisionV1, EntityType, Intent


async def understand(
    brain: RulesBrain,
    text: str,
    index: InventoryIndex | None = None,
    context: Context | None = None,
) -> DecisionV1:
    request = BrainRequest("t", text, index or fleet_index(), context or Context())
    return await brain.understand(request)


def actions(decision: DecisionV1) -> list[str]:
    if decision.clauses:
        return [c.intent.action for c in decision.clauses]
    return [decision.intent.action] if decision.intent else []


def services(decision: DecisionV1) -> list[str | None]:
    clauses = decision.clauses or []
    return [c.inputs.get("service") for c in clauses]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("check disk, memory and cpu on web-01", ["check_disk", "check_memory", "check_cpu"]),
        (
            "Check disk, memory, uptime and CPU on app-02",
            ["check_disk", "check_memory", "check_uptime", "check_cpu"],
        ),
        ("show memory and disk for db-01", ["check_memory", "check_disk"]),
    ],
)
async def test_one_verb_over_a_list_is_a_clause_for_each_item(
    brain: RulesBrain, text: str, wanted: list[str]
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert actions(decision) == wanted
    assert all(c.targets for c in decision.clauses)


@pytest.mark.parametrize(
    ("text", "action", "wanted"),
    [
        ("restart nginx and apache on web-01", "restart_service", ["nginx", "apache"]),
        ("bounce nginx & redis on app-01", "restart_service", ["nginx", "redis"]),
        (
            "check nginx, haproxy and redis on web-02",
            "service_status",
            ["nginx", "haproxy", "redis"],
        ),
        ("stop the nginx and postgres services on db-01", "stop_service", ["nginx", "postgres"]),
    ],
)
async def test_a_list_of_services_is_a_step_for_each_never_only_the_first(
    brain: RulesBrain, text: str, action: str, wanted: list[str]
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert actions(decision) == [action] * len(wanted)
    assert services(decision) == wanted


async def test_a_count_over_several_services_is_asked_about(brain: RulesBrain) -> None:
    index = InventoryIndex(
        [
            AssetKey("a1", None, None, "linux", "server", None, (), services=("nginx",)),
            AssetKey("a2", None, None, "linux", "server", None, (), services=("apache",)),
        ]
    )
    decision = await understand(brain, "how many hosts run nginx and apache", index)
    assert decision.clarification is not None
    question = decision.clarification.question
    assert "nginx" in question and "apache" in question


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (
            "check disk on web-01; check memory on db-01",
            [("check_disk", "web-01"), ("check_memory", "db-01")],
        ),
        (
            "stop nginx on web-01, start apache on web-02",
            [("stop_service", "web-01"), ("start_service", "web-02")],
        ),
        (
            "restart nginx on app-01; show its status",
            [("restart_service", "app-01"), ("service_status", "app-01")],
        ),
    ],
)
async def test_semicolons_and_commas_before_an_order_start_a_clause(
    brain: RulesBrain, text: str, wanted: list[tuple[str, str]]
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert [(c.intent.action, c.targets[0]) for c in decision.clauses] == wanted


@pytest.mark.parametrize(
    "text",
    [
        "if nginx is down on web-01, restart it",
        "If web-01's CPU is over 80%, restart apache; otherwise, just show me top processes.",
        "when the disk is full on app-01 then reboot it",
        "check disk on db-01 and if it is over 90% reboot it",
        "unless web-02 is busy, restart nginx on it",
        "in case nginx is down on web-02, bounce it",
        "stop postgres on db-01 provided backups are done",
    ],
)
async def test_a_change_on_a_condition_is_never_planned(brain: RulesBrain, text: str) -> None:
    decision = await understand(brain, text)
    changed = [a for a in actions(decision) if a in {"restart_service", "reboot", "stop_service"}]
    assert not changed, (text, actions(decision))
    said = decision.read_as or (decision.clarification.question if decision.clarification else "")
    assert "condition" in said or decision.clarification is not None, said


async def test_check_if_is_whether_not_a_condition(brain: RulesBrain) -> None:
    decision = await understand(brain, "restart nginx on web-01 and check if it is running")
    assert actions(decision) == ["restart_service", "service_status"]


async def test_a_possessive_host_is_the_host(brain: RulesBrain) -> None:
    decision = await understand(brain, "show web-01's disk usage")
    assert decision.intent == Intent(category="monitoring", action="check_disk")
    assert decision.targets == ["web-01"]
    unknown = await understand(brain, "what's web-99's uptime")
    assert unknown.clarification is not None and "'web-99'" in unknown.clarification.question


@pytest.mark.parametrize(
    "text",
    [
        "Perform a comprehensive system health check on web-01 including CPU, memory and disk",
        "run a complete health check of app-01, including uptime and load",
        "do a thorough health check on db-01 incl memory",
    ],
)
async def test_what_including_lists_is_covered_by_the_check(brain: RulesBrain, text: str) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert actions(decision) == ["health_check"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("run a health check on web-01 including network", "'network'"),
        (
            "Perform a full health check on app-02 including CPU, memory, disk, and network",
            "'network'",
        ),
        ("check disk on db-01 including inodes", "'inodes'"),
    ],
)
async def test_what_including_lists_beyond_the_check_is_named(
    brain: RulesBrain, text: str, named: str
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is not None
    assert named in decision.clarification.question


def _balanced_index() -> InventoryIndex:
    rows = [
        ("lb-01", "network", "other", ("load-balancer",), "10.0.0.5"),
        ("api-01", "linux", "server", ("api",), "10.0.0.11"),
        ("api-02", "linux", "server", ("api",), "10.0.0.12"),
    ]
    return InventoryIndex(
        AssetKey(name, f"{name}.corp.example", ip, os_type, device, "production", tags)
        for name, os_type, device, tags, ip in rows
    )


async def test_latency_between_two_ends_is_a_ping_from_the_end_that_can_run_it(
    brain: RulesBrain,
) -> None:
    decision = await understand(
        brain,
        "users say it's slow, can you check network latency between the load balancer and the "
        "api servers?",
        _balanced_index(),
    )
    assert decision.clarification is None, decision.clarification
    assert decision.intent == Intent(category="network", action="ping")
    assert sorted(decision.targets) == ["api-01", "api-02"]
    assert decision.inputs["destination"] == "lb-01.corp.example"
    assert decision.read_as is not None and "ping" in decision.read_as


async def test_connectivity_between_two_hosts_pings_one_from_the_other(brain: RulesBrain) -> None:
    decision = await understand(brain, "test connectivity between web-01 and db-01")
    assert decision.intent == Intent(category="network", action="ping")
    assert len(decision.targets) == 1
    assert decision.inputs["destination"].split(".")[0] in {"web-01", "db-01"}
    assert decision.inputs["destination"].split(".")[0] not in decision.targets


async def test_an_unknown_end_is_named(brain: RulesBrain) -> None:
    decision = await understand(brain, "check latency between web-77 and db-01")
    assert decision.clarification is not None
    assert "web-77" in decision.clarification.question


async def test_a_multiword_tag_is_one_word(brain: RulesBrain) -> None:
    decision = brain.read("t", "list the load balancers", _balanced_index())
    groups = [e for e in decision.entities if e.type is EntityType.GROUP]
    assert groups and groups[0].filter == {"tags": "load-balancer"}


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("List production databases", {"environment": "production", "tags": "database"}),
        (
            "how many databases do we have in prod",
            {"environment": "production", "tags": "database"},
        ),
        ("show me the backups in dr", {"environment": "dr", "tags": "backup"}),
    ],
)
async def test_a_tags_plural_stands_for_the_assets_tagged_so(
    brain: RulesBrain, text: str, wanted: dict[str, str]
) -> None:
    decision = brain.read("t", text, fleet_index())
    assert decision.clarification is None, decision.clarification
    groups = [e for e in decision.entities if e.type is EntityType.GROUP]
    assert groups and groups[0].filter == wanted


@pytest.mark.parametrize(
    "text", ["Filter those to only Linux", "just the prod ones", "narrow that down to staging"]
)
async def test_narrowing_with_nothing_before_it_asks_which_assets(
    brain: RulesBrain, text: str
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is not None
    assert decision.clarification.reason == "no_target"
    assert "earlier answer" in decision.clarification.question


async def test_narrowing_an_earlier_list_adds_to_its_filter(brain: RulesBrain) -> None:
    listed = Context(
        intent=Intent(category="inventory", action="list_assets"),
        said="show me all servers",
        turns=("show me all servers",),
    )
    decision = await understand(brain, "Filter those to only Linux", context=listed)
    groups = [e for e in decision.entities if e.type is EntityType.GROUP]
    assert groups and groups[0].filter == {"os_type": "linux", "device_type": "server"}
    assert decision.read_as is not None and "only Linux" in decision.read_as
    counted = await understand(
        brain,
        "how many are there?",
        context=Context(
            intent=Intent(category="inventory", action="list_assets"),
            said="show me all servers, only Linux",
            turns=("show me all servers", "Filter those to only Linux"),
        ),
    )
    assert counted.intent == Intent(category="inventory", action="count_assets")
    groups = [e for e in counted.entities if e.type is EntityType.GROUP]
    assert groups and groups[0].filter == {"os_type": "linux", "device_type": "server"}


async def test_only_before_an_order_is_not_narrowing(brain: RulesBrain) -> None:
    decision = await understand(brain, "only restart nginx on web-01")
    assert actions(decision) == ["restart_service"]


@pytest.mark.parametrize(
    "text",
    [
        "check el status de la database por favor, está muy lento",
        "bitte überprüfen die Festplatte auf web-01",
        "vérifier le serveur web-01 s'il vous plaît, il est très lent",
    ],
)
async def test_another_language_is_said_to_be_one(brain: RulesBrain, text: str) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is not None
    assert "English only" in decision.clarification.question
    assert decision.clarification.options == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("restart nginx and frobnicate the flux capacitor on web-01", "frobnicate"),
        ("check disk and defrag the quantum drive on db-01", "defrag"),
    ],
)
async def test_a_part_not_understood_before_the_hosts_is_named(
    brain: RulesBrain, text: str, named: str
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is not None, actions(decision)
    assert named in decision.clarification.question


@pytest.mark.parametrize(
    "text", ["check disk on web-01 and web-02 too", "restart nginx on web-01 and db-01 as well"]
)
async def test_more_hosts_after_and_are_hosts(brain: RulesBrain, text: str) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert len(decision.targets) == 2


@pytest.mark.parametrize(
    "text",
    [
        "restart nginx on all servers not tagged foo",  # no such tag
        "how many boxes not running nginx",  # nobody declares nginx
        "reboot the servers except the ones at mars-base",  # no such place
    ],
)
async def test_an_exclusion_that_cannot_be_applied_is_named(brain: RulesBrain, text: str) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is not None, (actions(decision), decision.targets)
    assert decision.clarification.reason == "not_understood"


async def test_hosts_named_at_the_start_serve_the_whole_list(brain: RulesBrain) -> None:
    decision = await understand(brain, "check disk on web-01 and memory")
    assert [(c.intent.action, c.targets) for c in decision.clauses] == [
        ("check_disk", ["web-01"]),
        ("check_memory", ["web-01"]),
    ]


@pytest.mark.parametrize("text", ["approve it", "yes do it", "approved", "confirm the restart"])
async def test_an_approval_is_never_a_request(brain: RulesBrain, text: str) -> None:
    decision = await understand(brain, text)
    assert decision.intent is None and decision.clarification is not None
    assert "Approvals are not given in a request" in decision.clarification.question


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("restart nginx on everything but web-01", "name=web-01"),
        ("reboot everything in staging but ci-runner-07", "name=ci-runner-07"),
        ("reboot all windows servers but dc-01", "name=dc-01"),
        ("reboot all servers but the windows ones", "os_type=windows"),
        ("restart nginx on web servers minus web-02", "name=web-02"),
        ("restart nginx on all web servers aside from web-02", "name=web-02"),
        ("restart nginx on web servers sans web-02", "name=web-02"),
        ("restart nginx on all web servers, skip web-02", "name=web-02"),
        ("reboot the app servers but don't reboot app-01", "name=app-01"),
        ("reboot app servers; never app-01", "name=app-01"),
    ],
)
async def test_every_way_of_saying_except_excludes(
    brain: RulesBrain, text: str, wanted: str
) -> None:
    decision = await understand(brain, text)
    groups = [e for e in decision.entities if e.type is EntityType.GROUP]
    assert groups and groups[0].filter is not None, (decision.targets, decision.clarification)
    assert wanted in groups[0].filter["exclude"].split(",")
    excluded = wanted.split("=", 1)[1]
    assert excluded not in decision.targets
    assert all(not n.startswith(("win-", "dc-")) for n in decision.targets) or "name" in wanted


async def test_but_before_an_order_is_a_clause(brain: RulesBrain) -> None:
    decision = await understand(brain, "check disk but restart nginx on web-01")
    assert actions(decision) == ["check_disk", "restart_service"]


async def test_a_standing_condition_plans_no_change(brain: RulesBrain) -> None:
    decision = await understand(brain, "restart nginx on web-01 whenever it crashes")
    assert "restart_service" not in actions(decision)


def steps(decision: DecisionV1) -> list[tuple[str, tuple[str, ...]]]:
    """(action, targets) of each clause, in order."""
    if decision.clauses:
        return [(c.intent.action, tuple(sorted(c.targets))) for c in decision.clauses]
    assert decision.intent is not None
    return [(decision.intent.action, tuple(sorted(decision.targets)))]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (
            "check disk on web-01, also restart nginx",
            [("check_disk", ("web-01",)), ("restart_service", ("web-01",))],
        ),
        (
            "check disk on web-01 plus memory",
            [("check_disk", ("web-01",)), ("check_memory", ("web-01",))],
        ),
        (
            "check disk on web-01 as well as memory on db-01",
            [("check_disk", ("web-01",)), ("check_memory", ("db-01",))],
        ),
        (
            "Show uptime for app-02 & check its memory",
            [("check_uptime", ("app-02",)), ("check_memory", ("app-02",))],
        ),
    ],
)
async def test_also_plus_and_as_well_as_join_clauses_like_and(
    brain: RulesBrain, text: str, wanted: list[tuple[str, tuple[str, ...]]]
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert steps(decision) == wanted


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (
            "restart nginx on web-01 after checking its status",
            [("service_status", ("web-01",)), ("restart_service", ("web-01",))],
        ),
        (
            "restart nginx on web-01 only after stopping apache",
            [("stop_service", ("web-01",)), ("restart_service", ("web-01",))],
        ),
        (
            "reboot app-01 first and then app-02",
            [("reboot", ("app-01",)), ("reboot", ("app-02",))],
        ),
        (
            "restart nginx on web-01 then web-02",
            [("restart_service", ("web-01",)), ("restart_service", ("web-02",))],
        ),
        (
            "deploy billing-api 2.3.1 to app-01 and then the staging app servers",
            [
                ("deploy_application", ("app-01",)),
                ("deploy_application", ("app-stg-01", "app-stg-02")),
            ],
        ),
    ],
)
async def test_the_order_people_say_is_the_order_steps_run(
    brain: RulesBrain, text: str, wanted: list[tuple[str, tuple[str, ...]]]
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert steps(decision) == wanted
    for clause in decision.clauses:  # what the first part said is kept for the next
        if clause.intent.action == "deploy_application":
            assert clause.inputs.get("app") == "billing-api"
            assert clause.inputs.get("version") == "2.3.1"


@pytest.mark.parametrize(
    ("text", "pause"),
    [
        ("reboot app-01, wait 5 minutes, then reboot app-02", "wait 5 minutes"),
        ("restart nginx on web-01, wait a minute and restart it on web-02", "wait a minute"),
        ("wait for nginx to stop on web-01", "wait for"),
        ("pause for 30s then reboot db-01", "pause for 30s"),
        ("reboot web-01 tomorrow", "tomorrow"),
        ("Restart nginx on web-01 later", "later"),
        ("reboot db-01 at 3am", "at 3am"),
        ("restart nginx on web-02 in 10 minutes", "in 10 minutes"),
    ],
)
async def test_a_pause_is_named_never_dropped(brain: RulesBrain, text: str, pause: str) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is not None
    assert f"'{pause}'" in decision.clarification.question
    assert not decision.clauses


async def test_a_service_listed_after_including_is_named_when_the_check_skips_it(
    brain: RulesBrain,
) -> None:
    decision = await understand(brain, "run a health check on web-01 including nginx")
    assert decision.clarification is not None
    assert "'nginx'" in decision.clarification.question


@pytest.mark.parametrize(
    ("text", "check", "left_out"),
    [
        ("restart nginx on web-01 if it is down", "service_status", "restart nginx on web-01"),
        ("if nginx is down on web-01, restart it", "service_status", "restart nginx on web-01"),
        ("restart nginx on web-02 when it crashes", "service_status", "restart nginx on web-02"),
        ("Restart nginx on web-01 unless it's running", "service_status", "restart nginx"),
        (
            "check if nginx is running on web-01 and restart it if not",
            "service_status",
            "restart nginx on web-01",
        ),
        ("reboot db-01 if its disk is full", "check_disk", "reboot db-01"),
        ("restart nginx on web-01 once the deploy is done", "service_status", "restart nginx"),
    ],
)
async def test_a_change_on_a_condition_runs_the_check_the_condition_names_and_says_so(
    brain: RulesBrain, text: str, check: str, left_out: str
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert actions(decision) == [check]
    assert decision.read_as is not None
    assert f"not '{left_out}" in decision.read_as.lower()
    assert "condition" in decision.read_as


async def test_otherwise_starts_a_clause_and_its_checks_are_kept(brain: RulesBrain) -> None:
    text = "If web-01's CPU is over 80%, restart apache; otherwise check memory"
    decision = await understand(brain, text)
    assert actions(decision) == ["check_cpu", "check_memory"]
    assert decision.read_as is not None and "not 'restart apache" in decision.read_as


async def test_once_as_a_count_is_no_condition(brain: RulesBrain) -> None:
    decision = await understand(brain, "restart nginx on web-01 once")
    assert actions(decision) == ["restart_service"]


async def conversation(brain: RulesBrain, turns: list[str]) -> DecisionV1:
    """The last turn's decision, each turn read with the context the ones before left
    (`pipeline.conversations.after_turn`, as the pipeline keeps it)."""
    context = Context()
    decision: DecisionV1 | None = None
    for text in turns:
        decision = await understand(brain, text, context=context)
        context = after_turn(context, text, decision)
    assert decision is not None
    return decision


def group_of(decision: DecisionV1) -> dict[str, str] | None:
    groups = [e for e in decision.entities if e.type is EntityType.GROUP]
    return groups[0].filter if len(groups) == 1 else None


@pytest.mark.parametrize(
    ("turns", "action", "wanted"),
    [
        (
            ["how many linux servers in production?", "and in staging?"],
            "count_assets",
            {"os_type": "linux", "device_type": "server", "environment": "staging"},
        ),
        (
            ["how many servers in prod", "what about windows?", "and in staging?"],
            "count_assets",
            {"os_type": "windows", "device_type": "server", "environment": "staging"},
        ),
        (
            ["how many windows servers", "and linux?"],
            "count_assets",
            {"os_type": "linux", "device_type": "server"},
        ),
        (
            ["list the web servers in production", "What about staging?"],
            "list_assets",
            {"device_type": "server", "environment": "staging", "tags": "web"},
        ),
        (
            ["how many switches do we have", "and firewalls?"],
            "count_assets",
            {"device_type": "firewall"},
        ),
        (
            ["list all staging servers", "now do the same on all production servers"],
            "list_assets",
            {"device_type": "server", "environment": "production"},
        ),
    ],
)
async def test_a_follow_up_asks_again_with_its_value_in_place_of_the_one_of_its_kind(
    brain: RulesBrain, turns: list[str], action: str, wanted: dict[str, str]
) -> None:
    decision = await conversation(brain, turns)
    assert decision.clarification is None, decision.clarification
    assert decision.intent is not None and decision.intent.action == action
    assert group_of(decision) == wanted
    assert decision.read_as is not None  # context was used: said back


async def test_them_after_a_list_is_the_listed_group_said_back(brain: RulesBrain) -> None:
    decision = await conversation(brain, ["list the web servers", "reboot them"])
    assert actions(decision) == ["reboot"]
    assert sorted(decision.targets) == ["web-01", "web-02", "web-stg-01"]
    assert decision.read_as is not None and "tagged web" in decision.read_as


async def test_the_same_thing_elsewhere_repeats_the_change_there(brain: RulesBrain) -> None:
    turns = ["restart nginx on web-01", "now do the same thing on all staging servers"]
    decision = await conversation(brain, turns)
    assert actions(decision) == ["restart_service"]
    assert decision.inputs.get("service") == "nginx"
    assert sorted(decision.targets) == ["app-stg-01", "app-stg-02", "ci-runner-07", "web-stg-01"]


@pytest.mark.parametrize(
    ("text", "runs_on", "pings"),
    [
        ("ping db-01 from web-01", "web-01", "db-01.corp.example"),
        ("latency from web-01 to db-01", "web-01", "db-01.corp.example"),
        ("can app-01 reach pg-03?", "app-01", "pg-03.corp.example"),
        ("check connectivity from app-01 to pg-03", "app-01", "pg-03.corp.example"),
        ("ping 8.8.8.8 from web-01", "web-01", "8.8.8.8"),
    ],
)
async def test_a_ping_runs_on_its_source_never_on_its_destination(
    brain: RulesBrain, text: str, runs_on: str, pings: str
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert actions(decision) == ["ping"]
    assert decision.targets == [runs_on]
    assert decision.inputs.get("destination") == pings


@pytest.mark.parametrize(
    ("text", "check", "left_out"),
    [
        (
            "do not restart nginx on web-01, just check its status",
            "service_status",
            "restart nginx on web-01",
        ),
        ("check uptime on web-01 but don't reboot it", "check_uptime", "reboot it"),
        ("never reboot db-01; show its uptime instead", "check_uptime", "reboot db-01"),
    ],
)
async def test_an_order_said_not_to_be_done_is_never_planned(
    brain: RulesBrain, text: str, check: str, left_out: str
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert actions(decision) == [check]
    assert decision.read_as is not None and f"not '{left_out}'" in decision.read_as


async def test_only_an_order_not_to_be_done_is_nothing_to_do(brain: RulesBrain) -> None:
    decision = await understand(brain, "don't reboot web-01")
    assert decision.clarification is not None
    assert "not to reboot web-01" in decision.clarification.question


async def test_but_dont_after_a_change_on_a_group_excludes(brain: RulesBrain) -> None:
    decision = await understand(brain, "reboot all app servers but don't reboot app-01")
    assert decision.clarification is None, decision.clarification
    assert sorted(decision.targets) == ["app-02", "app-stg-01", "app-stg-02"]


@pytest.mark.parametrize(
    ("turns", "wanted"),
    [
        (["list windows workstations", "reboot all except ws-102"], ["ws-101", "ws-103"]),
        (["list hosts tagged database", "stop postgresql on all of them but db-01"], ["pg-03"]),
        (
            ["list production servers", "not the windows ones", "reboot them"],
            ["app-01", "app-02", "db-01", "mon-01", "pg-03", "web-01", "web-02"],
        ),
        (["list the web servers", "restart nginx on the production ones"], ["web-01", "web-02"]),
        (
            ["list the app servers", "the staging ones only", "deploy checkout 1.1.0 to them"],
            ["app-stg-01", "app-stg-02"],
        ),
        (["how many hosts in 10.1.1.", "restart nginx on those"], ["web-01", "web-02"]),
        (
            ["how many web servers?", "in production only", "restart nginx on them"],
            ["web-01", "web-02"],
        ),
    ],
)
async def test_a_change_that_leans_on_the_group_before_stays_inside_it(
    brain: RulesBrain, turns: list[str], wanted: list[str]
) -> None:
    decision = await conversation(brain, turns)
    assert decision.clarification is None, decision.clarification
    assert sorted(decision.targets) == wanted
    assert decision.read_as is not None


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("close port 5432 on db-01 but keep it open on pg-03", ["db-01"]),
        ("close port 5432 on the database servers but keep it open on pg-03", ["db-01"]),
        ("restart nginx on all web servers but leave it alone on web-01", ["web-02", "web-stg-01"]),
    ],
)
async def test_hosts_to_keep_as_they_are_are_left_out(
    brain: RulesBrain, text: str, wanted: list[str]
) -> None:
    decision = await understand(brain, text)
    assert decision.clarification is None, decision.clarification
    assert sorted(decision.targets) == wanted


@pytest.mark.parametrize(
    ("turns", "action", "targets", "inputs"),
    [
        (
            ["restart nginx on web-01", "now web-02"],
            "restart_service",
            ["web-02"],
            {"service": "nginx"},
        ),
        (
            ["restart nginx on web-01", "do the same for apache"],
            "restart_service",
            ["web-01"],
            {"service": "apache"},
        ),
        (
            ["check the status of nginx on web-01", "and postgres on db-01"],
            "service_status",
            ["db-01"],
            {"service": "postgres"},
        ),
        (
            ["ping 8.8.8.8 from web-01", "and from the staging app servers"],
            "ping",
            ["app-stg-01", "app-stg-02"],
            {"destination": "8.8.8.8"},
        ),
        (
            ["open port 443 on web-01", "also on web-02 and web-stg-01"],
            "modify_firewall",
            ["web-02", "web-stg-01"],
            {"port": "443"},
        ),
        (
            ["deploy billing 2.0.0 to app-stg-01", "now to app-stg-02"],
            "deploy_application",
            ["app-stg-02"],
            {"app": "billing", "version": "2.0.0"},
        ),
    ],
)
async def test_a_follow_up_repeats_the_order_before_with_what_it_changes(
    brain: RulesBrain, turns: list[str], action: str, targets: list[str], inputs: dict[str, str]
) -> None:
    decision = await conversation(brain, turns)
    assert decision.clarification is None, decision.clarification
    assert actions(decision) == [action]
    assert sorted(decision.targets) == targets
    assert inputs.items() <= decision.inputs.items()
    assert decision.read_as is not None


async def test_both_after_a_turn_about_one_host_is_asked(brain: RulesBrain) -> None:
    decision = await conversation(brain, ["tell me about web-01", "and web-02", "reboot both"])
    assert decision.clarification is not None
    assert "both" in decision.clarification.question


@pytest.mark.parametrize(
    "text",
    [
        "I already restarted nginx on web-01",
        "we rebooted web-01 yesterday, check its uptime",
        "web-01 was rebooted last night, is it healthy?",
        "after the reboot of web-02, nginx is down; check its status",
        "someone stopped nginx on web-02, check its status",
        "reboot nothing; check uptime on all staging servers",
        "I don't want to reboot web-01, show its uptime",
        "we are not going to kill java on app-01",
        "can I reboot dc-01?",
        "simulate restarting nginx on web-01",
        "the restart of nginx on web-01 failed",
    ],
)
async def test_a_report_or_a_question_about_a_change_never_plans_it(
    brain: RulesBrain, text: str
) -> None:
    decision = await understand(brain, text)
    planned = [c.intent.action for c in decision.clauses] or (
        [decision.intent.action] if decision.intent and decision.clarification is None else []
    )
    assert not {"reboot", "restart_service", "stop_service", "kill_process_by_name"} & set(
        planned
    ), (planned, decision.clarification)


async def test_what_is_needed_done_is_the_order(brain: RulesBrain) -> None:
    decision = await understand(brain, "I need nginx restarted on web-02")
    assert actions(decision) == ["restart_service"]
    assert decision.targets == ["web-02"] and decision.inputs.get("service") == "nginx"


@pytest.mark.parametrize(
    ("turns", "words"),
    [
        (["check uptime on db-01", "and pg-03", "reboot the older one"], "the older one"),
        (["reboot everything there except the web server"], "there"),
    ],
)
async def test_hosts_the_conversation_does_not_name_are_asked(
    brain: RulesBrain, turns: list[str], words: str
) -> None:
    decision = await conversation(brain, turns)
    assert decision.clarification is not None
    assert f"'{words}'" in decision.clarification.question


async def test_a_follow_up_to_a_place_it_cannot_read_keeps_no_earlier_host(
    brain: RulesBrain,
) -> None:
    turns = ["deploy billing 2.0.0 to app-stg-01", "deploy it to production now"]
    decision = await conversation(brain, turns)
    assert "app-stg-01" not in decision.targets or decision.clarification is not None


async def test_an_exclusion_after_a_count_narrows_it(brain: RulesBrain) -> None:
    turns = ["count production linux servers", "excluding databases", "reboot them"]
    decision = await conversation(brain, turns)
    assert sorted(decision.targets) == ["app-01", "app-02", "mon-01", "web-01", "web-02"]


async def test_the_ones_of_a_second_part_are_those_of_the_first(brain: RulesBrain) -> None:
    text = "restart nginx on production web servers and php-fpm on staging ones"
    decision = await understand(brain, text)
    assert [sorted(c.targets) for c in decision.clauses] == [["web-01", "web-02"], ["web-stg-01"]]
    assert services(decision) == ["nginx", "php-fpm"]
