"""Facts collected from assets: stored per asset with their time, replaced whole, gone with the
asset; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import JsonValue
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.errors import AssetNotFound, ValidationFailed
from opsconductor.inventory import repository
from opsconductor.inventory.facts import facts_for, store_facts

WHEN = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
FACTS: dict[str, JsonValue] = {
    "os_name": "Ubuntu",
    "os_version": "22.04",
    "cpu_count": 8,
    "memory_bytes": 17_179_869_184,
    "disks": [{"mount": "/", "size_bytes": 107_374_182_400}],
    "running_services": ["nginx", "sshd"],
    "swap_bytes": None,
}


async def test_facts_are_stored_and_read_with_their_time(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", FACTS, WHEN)
    async with conductor.db.reader() as session:
        found = await facts_for(session, ["web-prod-01", "web-prod-02", "no-such-asset"])
    # Never asked is unknown: the asset is absent, not an empty set of facts.
    assert set(found) == {"web-prod-01"}
    assert found["web-prod-01"].values == FACTS
    assert found["web-prod-01"].collected_at == WHEN


async def test_storing_again_replaces_the_whole_set(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    later = WHEN + timedelta(hours=1)
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", FACTS, WHEN)
        await store_facts(session, "web-prod-02", {"cpu_count": 2}, WHEN)
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", {"cpu_count": 16, "kernel": "6.8.0"}, later)
    async with conductor.db.reader() as session:
        found = await facts_for(session, ["web-prod-01", "web-prod-02"])
    assert found["web-prod-01"].values == {"cpu_count": 16, "kernel": "6.8.0"}
    assert found["web-prod-01"].collected_at == later
    assert found["web-prod-02"].values == {"cpu_count": 2}
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", {}, later)
    async with conductor.db.reader() as session:
        assert set(await facts_for(session, ["web-prod-01", "web-prod-02"])) == {"web-prod-02"}


async def test_a_failed_store_keeps_the_old_facts(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", FACTS, WHEN)
    with pytest.raises(RuntimeError):
        async with conductor.db.session() as session:
            await store_facts(session, "web-prod-01", {"cpu_count": 1}, WHEN)
            raise RuntimeError("the collection failed after the write")
    async with conductor.db.reader() as session:
        assert (await facts_for(session, ["web-prod-01"]))["web-prod-01"].values == FACTS


async def test_facts_go_with_their_asset_and_survive_a_reimport(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", FACTS, WHEN)
        await store_facts(session, "web-prod-02", {"cpu_count": 2}, WHEN)
    await seed(conductor, [{**FLEET[1], "owner": "Someone Else"}])
    async with conductor.db.session() as session:
        assert set(await facts_for(session, ["web-prod-01"])) == {"web-prod-01"}
        await repository.delete_asset(session, "web-prod-01")
    await seed(conductor, [FLEET[1]])  # the same name again is a new asset, without facts
    async with conductor.db.reader() as session:
        found = await facts_for(session, ["web-prod-01", "web-prod-02"])
    assert set(found) == {"web-prod-02"}


async def test_facts_for_an_unknown_asset_are_refused(conductor: OpsConductor) -> None:
    async with conductor.db.session() as session:
        with pytest.raises(AssetNotFound, match="no-such-asset"):
            await store_facts(session, "no-such-asset", FACTS, WHEN)


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"bad key": 1}, "fact key 'bad key'"),
        ({"": 1}, "fact key ''"),
        ({"load": float("nan")}, "fact load: not a JSON value"),
        ({"when": datetime.now(UTC)}, "fact when: not a JSON value"),
    ],
)
async def test_bad_facts_are_refused_before_anything_is_written(
    conductor: OpsConductor, facts: dict[str, Any], message: str
) -> None:
    await seed(conductor, FLEET)
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", {"cpu_count": 4}, WHEN)
        with pytest.raises(ValidationFailed, match=message):
            await store_facts(session, "web-prod-01", facts, WHEN)
    async with conductor.db.reader() as session:
        found = await facts_for(session, ["web-prod-01"])
    assert found["web-prod-01"].values == {"cpu_count": 4}


async def test_a_naive_time_is_refused(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    async with conductor.db.session() as session:
        with pytest.raises(ValueError, match="timezone"):
            await store_facts(session, "web-prod-01", FACTS, datetime(2026, 12, 4, 9, 30))
