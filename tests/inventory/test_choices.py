"""Alternatives and exclusions (`AssetFilter.either` / `exclude`) on both databases: SQL and
the brain's index select the same assets, which are the ones a reading of the rows by hand
says; an asset with no value for a field is neither one of its alternatives nor excluded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tests.brain.fleet import asset_rows
from tests.conftest import seed

from opsconductor.app import OpsConductor
from opsconductor.brain.index import AssetKey, InventoryIndex
from opsconductor.inventory import repository
from opsconductor.inventory.models import AssetFilter

ROWS = asset_rows()


def by_hand(keep: object) -> list[str]:
    return sorted(str(r["name"]) for r in ROWS if keep(r))  # type: ignore[operator]


CASES = [
    (
        AssetFilter(either=("environment=production", "environment=staging")),
        by_hand(lambda r: r["environment"] in {"production", "staging"}),
    ),
    (
        AssetFilter(device_type="server", either=("os_type=windows", "os_type=linux")),
        by_hand(lambda r: r["device_type"] == "server" and r["os_type"] in {"windows", "linux"}),
    ),
    (
        # No environment is not staging: the workstations stay in.
        AssetFilter(exclude=("environment=staging",)),
        by_hand(lambda r: r["environment"] != "staging"),
    ),
    (
        AssetFilter(device_type="server", exclude=("tag=web", "tag=APP")),
        by_hand(lambda r: r["device_type"] == "server" and not {"web", "app"} & set(r["tags"])),
    ),
    (
        AssetFilter(exclude=("device_type=switch", "device_type=firewall", "name=NAS-01")),
        by_hand(lambda r: r["device_type"] not in {"switch", "firewall"} and r["name"] != "nas-01"),
    ),
    (
        AssetFilter(either=("tag=web", "tag=database"), exclude=("environment=staging",)),
        by_hand(
            lambda r: bool({"web", "database"} & set(r["tags"])) and r["environment"] != "staging"
        ),
    ),
    (
        AssetFilter(either=("owner=web team",), exclude=("name=web-02",)),
        by_hand(lambda r: r["owner"] == "Web Team" and r["name"] != "web-02"),
    ),
]


@pytest.mark.parametrize(("flt", "wanted"), CASES, ids=[c[0].describe() for c in CASES])
async def test_sql_and_the_index_select_what_the_rows_say(
    conductor: OpsConductor, flt: AssetFilter, wanted: list[str]
) -> None:
    await seed(conductor, ROWS)
    assert wanted, "a case that selects nothing could not tell a dropped condition"
    async with conductor.db.session() as session:
        listed = sorted(a.name for a in await repository.list_assets(session, flt))
        counted = (await repository.count_assets(session, flt)).total
        everything = await repository.list_assets(session)
    index = InventoryIndex(
        AssetKey(
            a.name,
            a.hostname,
            a.ip_address,
            a.os_type.value,
            a.device_type.value,
            a.environment,
            tuple(a.tags),
            owner=a.owner,
        )
        for a in everything
    )
    assert listed == wanted
    assert counted == len(wanted)
    assert index.select(flt) == wanted


@pytest.mark.parametrize(
    "pair",
    ["colour=red", "environment", "os_type=plan9", "tag=a,b", "tag=x;y", "name=\x00", "=web"],
)
def test_a_bad_pair_is_refused_naming_it(pair: str) -> None:
    with pytest.raises(ValidationError) as raised:
        AssetFilter(exclude=(pair,))
    assert "exclude" in str(raised.value)


async def test_the_answer_says_what_was_excluded_and_counts_it(conductor: OpsConductor) -> None:
    await seed(conductor, ROWS)
    answer = await conductor.pipeline.ask(
        "how many servers are not in production?", requester="alice"
    )
    wanted = by_hand(lambda r: r["device_type"] == "server" and r["environment"] != "production")
    message = answer.response.message
    assert f"{len(wanted)} " in message, message
    assert "except those in production" in message, message
    entity = answer.to_answer().decision.entities[-1]  # type: ignore[union-attr]
    assert entity.filter == {"device_type": "server", "exclude": "environment=production"}


async def test_a_change_never_reaches_an_excluded_host(conductor: OpsConductor) -> None:
    await seed(conductor, ROWS)
    answer = await conductor.pipeline.plan("restart nginx on all web servers except web-02")
    assert answer.plan is not None, answer.response.message
    targets = {t for step in answer.plan.steps for t in step.targets}
    assert targets == {"web-01", "web-stg-01"}
