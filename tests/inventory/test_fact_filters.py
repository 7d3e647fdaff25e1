"""Filters on collected facts (memory, CPUs, distribution, version, services seen running), on
both databases: each asset matches, does not, or is unknown (no facts, or not that fact), and
unknown is never counted as a match or a miss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import JsonValue
from tests.conftest import seed

from opsconductor.app import OpsConductor
from opsconductor.inventory import repository
from opsconductor.inventory.conditions import Verdict, fact_verdict
from opsconductor.inventory.facts import store_facts
from opsconductor.inventory.models import AssetFilter

WHEN = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def _server(name: str, env: str = "production", os_type: str = "linux") -> dict[str, object]:
    return {"name": name, "os_type": os_type, "device_type": "server", "environment": env}


HOSTS = [
    _server("big-01"),
    _server("big-02", env="staging"),
    _server("small-01"),
    _server("deb-01"),
    _server("bare-01"),  # facts without memory or services
    _server("never-01"),  # never asked
    _server("win-01", os_type="windows"),
]
FACTS: dict[str, dict[str, JsonValue]] = {
    # 32 GB installed reports a little less; 16 GB reports 15.6 GB.
    "big-01": {
        "os_name": "Ubuntu",
        "os_version": "22.04",
        "cpu_count": 16,
        "memory_mb": 32_096,
        "services": ["nginx", "sshd"],
    },
    "big-02": {
        "os_name": "Ubuntu",
        "os_version": "22.04.3",
        "cpu_count": 8,
        "memory_mb": 64_300,
        "services": ["postgresql"],
    },
    "small-01": {
        "os_name": "Ubuntu",
        "os_version": "20.04",
        "cpu_count": 2,
        "memory_mb": 15_990,
        "services": ["nginx"],
    },
    "deb-01": {
        "os_name": "Debian GNU/Linux",
        "os_version": "12",
        "cpu_count": 4,
        "memory_mb": 8_000,
        "services": [],
    },
    "bare-01": {"kernel": "6.8.0", "os_name": "Rocky Linux"},
}


@pytest.fixture
async def fleet(conductor: OpsConductor) -> OpsConductor:
    await seed(conductor, HOSTS)
    async with conductor.db.session() as session:
        for offset, (name, facts) in enumerate(FACTS.items()):
            await store_facts(session, name, facts, WHEN - timedelta(hours=offset))
    return conductor


async def _select(conductor: OpsConductor, flt: AssetFilter) -> tuple[list[str], ...]:
    async with conductor.db.reader() as session:
        found = await repository.select_by_facts(session, flt)
    return (
        [a.name for a in found.matched],
        [a.name for a in found.not_matched],
        [a.name for a in found.unknown],
    )


CASES = [
    (
        AssetFilter(min_memory_gb=17),
        ["big-01", "big-02"],
        ["deb-01", "small-01"],
        ["bare-01", "never-01", "win-01"],
    ),
    (
        AssetFilter(os_type="linux", min_memory_gb=16),
        ["big-01", "big-02", "small-01"],
        ["deb-01"],
        ["bare-01", "never-01"],
    ),
    (AssetFilter(min_cpus=8, max_cpus=8), ["big-02"], ["big-01", "deb-01", "small-01"], None),
    (AssetFilter(os_name="ubuntu", os_version="22.04"), ["big-01", "big-02"], None, None),
    (AssetFilter(os_name="debian"), ["deb-01"], ["bare-01", "big-01", "big-02", "small-01"], None),
    (AssetFilter(os_version="22"), ["big-01", "big-02"], None, None),
    (AssetFilter(running="NGINX"), ["big-01", "small-01"], ["big-02", "deb-01"], None),
    (AssetFilter(environment="production", running="nginx"), ["big-01", "small-01"], None, None),
]


@pytest.mark.parametrize(("flt", "matched", "missed", "unknown"), CASES)
async def test_each_asset_matches_misses_or_is_unknown(
    fleet: OpsConductor,
    flt: AssetFilter,
    matched: list[str],
    missed: list[str] | None,
    unknown: list[str] | None,
) -> None:
    found = await _select(fleet, flt)
    assert found[0] == matched
    if missed is not None:
        assert found[1] == missed
    if unknown is not None:
        assert found[2] == unknown
    # Every candidate lands in exactly one of the three.
    async with fleet.db.reader() as session:
        candidates = await repository.list_assets(session, flt.recorded_part())
    assert sorted(name for names in found for name in names) == sorted(a.name for a in candidates)


async def test_unknown_assets_are_told_apart_and_ages_given(fleet: OpsConductor) -> None:
    async with fleet.db.reader() as session:
        found = await repository.select_by_facts(session, AssetFilter(running="nginx"))
    # bare-01 has facts but none about services; never-01 and win-01 were never asked.
    assert [a.name for a in found.unknown] == ["bare-01", "never-01", "win-01"]
    assert found.without_facts == ["never-01", "win-01"]
    assert found.oldest == WHEN - timedelta(hours=4)
    assert found.newest == WHEN


async def test_list_and_count_take_only_matches(fleet: OpsConductor) -> None:
    flt = AssetFilter(os_name="ubuntu")
    async with fleet.db.reader() as session:
        listed = [a.name for a in await repository.list_assets(session, flt)]
        counted = await repository.count_assets(session, flt)
        first = await repository.list_assets(session, flt, limit=1)
    assert listed == ["big-01", "big-02", "small-01"]
    assert counted.total == 3
    assert counted.by_kind == {("linux", "server"): 3}
    assert [a.name for a in first] == ["big-01"]


async def test_no_facts_anywhere_is_all_unknown(conductor: OpsConductor) -> None:
    await seed(conductor, HOSTS)
    async with conductor.db.reader() as session:
        found = await repository.select_by_facts(session, AssetFilter(min_cpus=1))
    assert found.matched == [] and found.not_matched == []
    assert len(found.unknown) == len(HOSTS)
    assert found.oldest is None and found.newest is None


def test_a_known_miss_outweighs_a_missing_fact() -> None:
    flt = AssetFilter(min_cpus=4, running="nginx")
    assert fact_verdict(flt, {"cpu_count": 2}) is Verdict.NO_MATCH
    assert fact_verdict(flt, {"cpu_count": 8}) is Verdict.UNKNOWN
    assert fact_verdict(flt, {"cpu_count": 8, "services": ["nginx"]}) is Verdict.MATCH
    assert fact_verdict(flt, None) is Verdict.UNKNOWN
    # Words in order: 'red hat' is in 'Red Hat Enterprise Linux', 'hat red' is not.
    assert fact_verdict(AssetFilter(os_name="red hat"), {"os_name": "Red Hat Enterprise"}) == (
        Verdict.MATCH
    )
    assert fact_verdict(AssetFilter(os_name="hat red"), {"os_name": "Red Hat"}) == (
        Verdict.NO_MATCH
    )
    assert fact_verdict(AssetFilter(os_version="22"), {"os_version": "220"}) is Verdict.NO_MATCH
    assert fact_verdict(AssetFilter(min_memory_gb=1), {"memory_mb": True}) is Verdict.UNKNOWN
