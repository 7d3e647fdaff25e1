"""Where assets stand and what they run: `location` and `services` from every import format,
and the filters that use them (with owner and criticality) on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import seed

from opsconductor.app import OpsConductor
from opsconductor.errors import ImportRejected
from opsconductor.inventory import repository
from opsconductor.inventory.importers import read_assets_file
from opsconductor.inventory.models import Asset, AssetFilter, DeviceType, OsType


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def by_name(assets: list[Asset]) -> dict[str, Asset]:
    return {asset.name: asset for asset in assets}


def test_yaml_reads_location_data_center_and_services(tmp_path: Path) -> None:
    content = """
assets:
  - {name: web-01, os_type: linux, device_type: server, location: DC-East,
     services: [nginx, billing-api, NGINX, nginx]}
  - {name: sw-01, os_type: network, device_type: switch, data_center: DC-SJC-01}
  - {name: ws-01, os_type: windows, device_type: workstation}
"""
    assets = by_name(read_assets_file(write(tmp_path, "a.yaml", content)))
    assert assets["web-01"].location == "DC-East"
    # The same service however it is capitalised is one service, kept as first written.
    assert assets["web-01"].services == ["nginx", "billing-api"]
    assert assets["sw-01"].location == "DC-SJC-01" and assets["sw-01"].services == []
    assert assets["ws-01"].location is None


def test_csv_reads_location_alias_and_services_in_one_cell(tmp_path: Path) -> None:
    content = (
        "name,os_type,device_type,data_center,services,tags\n"
        'web-01,linux,server,DR,"nginx, billing-api",web;edge\n'
        "db-01,linux,server,,postgresql@14-main;pgbouncer|node_exporter,\n"
    )
    assets = by_name(read_assets_file(write(tmp_path, "a.csv", content)))
    assert assets["web-01"].location == "DR" and assets["web-01"].tags == ["web", "edge"]
    assert assets["web-01"].services == ["nginx", "billing-api"]
    assert assets["db-01"].location is None
    assert assets["db-01"].services == ["postgresql@14-main", "pgbouncer", "node_exporter"]


def test_ansible_ini_reads_location_and_services_from_host_and_group_vars(
    tmp_path: Path,
) -> None:
    content = """
[web]
web-01 services=nginx,billing-api
web-02 location=London

[db]
db-01 services=postgresql

[web:vars]
data_center=dc-east
"""
    assets = by_name(read_assets_file(write(tmp_path, "hosts.ini", content)))
    assert assets["web-01"].location == "dc-east"
    assert assets["web-01"].services == ["nginx", "billing-api"]
    # A host's `location` goes before its group's `data_center`.
    assert assets["web-02"].location == "London" and assets["web-02"].services == []
    assert assets["db-01"].location is None and assets["db-01"].services == ["postgresql"]


def test_ansible_yaml_reads_services_as_a_list_or_a_string(tmp_path: Path) -> None:
    content = """
all:
  children:
    web:
      vars: {location: dr}
      hosts:
        web-01: {services: [nginx, billing-api]}
        web-02: {services: "nginx, haproxy"}
"""
    assets = by_name(read_assets_file(write(tmp_path, "inventory.yml", content)))
    assert assets["web-01"].services == ["nginx", "billing-api"]
    assert assets["web-02"].services == ["nginx", "haproxy"]
    assert {a.location for a in assets.values()} == {"dr"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "a.yaml",
            "assets:\n  - {name: ok, os_type: linux, device_type: server}\n"
            "  - {name: web-01, os_type: linux, device_type: server,\n"
            "     services: [nginx, 'rm -rf']}\n",
            "row 2 (web-01): field services: service 'rm -rf' must be",
        ),
        (
            "a.yaml",
            "assets:\n  - {name: web-01, os_type: linux, device_type: server, services: nginx}\n",
            "row 1 (web-01): field services: Input should be a valid list",
        ),
        (
            "a.yaml",
            "assets:\n  - {name: web-01, os_type: linux, device_type: server, "
            "location: dr, data_center: dr}\n",
            "row 1 (web-01): field data_center: another name for location",
        ),
        (
            "a.yaml",
            "assets:\n  - {name: web-01, os_type: linux, device_type: server, "
            f"data_center: {'x' * 65}}}\n",
            "row 1 (web-01): field data_center: String should have at most 64 characters",
        ),
        (
            "a.csv",
            "name,os_type,device_type,services\nok,linux,server,\nweb-01,linux,server,nginx;a/b\n",
            "row 2 (web-01): field services: service 'a/b' must be",
        ),
        (
            "a.csv",
            'name,os_type,device_type,location\nweb-01,linux,server,"dr\x07"\n',
            "row 1 (web-01): field location: must not contain control characters",
        ),
        (
            "hosts.ini",
            "[web]\nweb-01 services=nginx,-bad\n",
            r"row 1 \(web-01\): field services: service '-bad' must be",
        ),
        (
            "inventory.yml",
            "all:\n  hosts:\n    web-01: {services: {nginx: true}}\n",
            "row 1 (web-01): services: expected a list or names separated by commas",
        ),
    ],
)
async def test_a_bad_location_or_service_rejects_the_file_naming_row_and_field(
    conductor: OpsConductor, tmp_path: Path, name: str, content: str, message: str
) -> None:
    pattern = message if "\\(" in message else message.replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ImportRejected, match=pattern):
        read_assets_file(write(tmp_path, name, content))
    async with conductor.db.session() as session:
        assert await repository.list_assets(session) == []


SITES: list[dict[str, object]] = [
    {
        "name": "web-dr-01",
        "os_type": "linux",
        "device_type": "server",
        "location": "DR",
        "services": ["nginx", "billing-api"],
        "owner": "Web Team",
        "criticality": "High",
    },
    {
        "name": "web-dr-02",
        "os_type": "linux",
        "device_type": "server",
        "location": "dr",
        "services": ["nginx-exporter", "my_app"],
        "owner": "web team",
    },
    {
        "name": "sw-dr-01",
        "os_type": "network",
        "device_type": "switch",
        "location": "Dr",
        "criticality": "high",
    },
    {
        "name": "web-east-01",
        "os_type": "linux",
        "device_type": "server",
        "location": "dc-east",
        "services": ["NGINX"],
        "owner": "Web Team (east)",
    },
    {"name": "ws-01", "os_type": "windows", "device_type": "workstation"},
]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (AssetFilter(location="dr"), ["sw-dr-01", "web-dr-01", "web-dr-02"]),
        (AssetFilter(location="DC-EAST"), ["web-east-01"]),
        (AssetFilter(location="d"), []),
        (AssetFilter(location="dr", device_type=DeviceType.SWITCH), ["sw-dr-01"]),
        # Exactly the declared service, ignoring case: not nginx-exporter.
        (AssetFilter(service="nginx"), ["web-dr-01", "web-east-01"]),
        (AssetFilter(service="Billing-API"), ["web-dr-01"]),
        (AssetFilter(service="ngin"), []),
        # `_` is a character, not LIKE's any-one-character.
        (AssetFilter(service="my_app"), ["web-dr-02"]),
        (AssetFilter(service="myxapp"), []),
        (AssetFilter(service="nginx", location="dr"), ["web-dr-01"]),
        (AssetFilter(owner="WEB TEAM"), ["web-dr-01", "web-dr-02"]),
        (AssetFilter(criticality="HIGH"), ["sw-dr-01", "web-dr-01"]),
        (AssetFilter(os_type=OsType.LINUX, location="dr"), ["web-dr-01", "web-dr-02"]),
    ],
)
async def test_filters_by_location_service_owner_and_criticality(
    conductor: OpsConductor, flt: AssetFilter, expected: list[str]
) -> None:
    await seed(conductor, SITES)
    async with conductor.db.reader() as session:
        listed = [a.name for a in await repository.list_assets(session, flt)]
        counted = (await repository.count_assets(session, flt)).total
    assert listed == expected and counted == len(expected)


async def test_location_and_services_are_stored_and_updated_in_place(
    conductor: OpsConductor,
) -> None:
    await seed(conductor, SITES)
    changed = {**SITES[0], "location": "dc-west", "services": ["haproxy"]}
    async with conductor.db.session() as session:
        summary = await repository.upsert_assets(
            session, [Asset.model_validate(a) for a in [changed, *SITES[1:]]]
        )
        stored = await repository.get_asset(session, "web-dr-01")
    assert summary.updated == ["web-dr-01"] and len(summary.unchanged) == len(SITES) - 1
    assert stored.location == "dc-west" and stored.services == ["haproxy"]


@pytest.mark.parametrize(
    ("flt", "count", "words"),
    [
        (
            AssetFilter(os_type=OsType.LINUX, device_type=DeviceType.SERVER, location="dr"),
            None,
            "Linux servers at dr",
        ),
        (AssetFilter(service="nginx"), None, "assets running nginx"),
        (AssetFilter(service="nginx"), 1, "asset running nginx"),
        (AssetFilter(device_type=DeviceType.SWITCH, location="DR"), 3, "switches at DR"),
        (AssetFilter(device_type=DeviceType.SWITCH), 1, "switch"),
        (AssetFilter(device_type=DeviceType.STORAGE), 0, "storage devices"),
        (AssetFilter(device_type=DeviceType.STORAGE), 1, "storage device"),
        (
            AssetFilter(environment="production", owner="Web Team", criticality="high"),
            None,
            "production assets owned by Web Team of high criticality",
        ),
    ],
)
def test_describe_words_the_new_qualifiers_grammatically(
    flt: AssetFilter, count: int | None, words: str
) -> None:
    assert flt.describe(count) == words


@pytest.mark.parametrize("service", ["bad name", '"x', "a,b", "-x", "x" * 65])
def test_a_service_filter_holds_only_a_service_name(service: str) -> None:
    with pytest.raises(ValueError, match="service"):
        AssetFilter(service=service)
