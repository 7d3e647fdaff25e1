"""Importing assets: YAML and CSV, all or nothing, updates in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconductor.app import OpsConductor
from opsconductor.errors import ImportRejected
from opsconductor.inventory import repository
from opsconductor.inventory.importers import read_assets_file

GOOD_YAML = """
assets:
  - {name: web-prod-01, hostname: web-prod-01.example, ip_address: 10.0.1.10, os_type: linux, os_version: Ubuntu 22.04, device_type: server, environment: production, tags: [web]}
  - {name: ws-01, os_type: windows, device_type: workstation, connection: {protocol: winrm, port: 5986}}
"""


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


async def test_yaml_import_then_reimport_updates_in_place(
    conductor: OpsConductor, tmp_path: Path
) -> None:
    assets = read_assets_file(write(tmp_path, "a.yaml", GOOD_YAML))
    async with conductor.db.session() as session:
        first = await repository.upsert_assets(session, assets)
    changed = GOOD_YAML.replace("Ubuntu 22.04", "Ubuntu 24.04")
    async with conductor.db.session() as session:
        second = await repository.upsert_assets(
            session, read_assets_file(write(tmp_path, "b.yaml", changed))
        )
        stored = await repository.get_asset(session, "web-prod-01")
    assert first.created == ["web-prod-01", "ws-01"]
    assert second.updated == ["web-prod-01"] and second.unchanged == ["ws-01"]
    assert stored.os_version == "Ubuntu 24.04" and stored.tags == ["web"]


def test_csv_import_reads_the_same_columns(tmp_path: Path) -> None:
    csv_text = (
        "name,hostname,ip_address,os_type,device_type,environment,tags,connection_protocol\n"
        "db-01,db-01.example,10.0.3.1,linux,server,staging,database;postgresql,ssh\n"
    )
    [asset] = read_assets_file(write(tmp_path, "a.csv", csv_text))
    assert asset.tags == ["database", "postgresql"] and asset.environment == "staging"
    assert asset.connection.protocol.value == "ssh"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "{name: bad, os_type: linux, device_type: server, colour: red}",
            "row 2 (bad): field colour: unknown field",
        ),
        (
            "{name: bad, ip_address: 10.0.1, os_type: linux, device_type: server}",
            "row 2 (bad): field ip_address",
        ),
        (
            "{name: web-prod-01, os_type: linux, device_type: server}",
            "row 2 (web-prod-01): field name: duplicate of row 1",
        ),
        ("{name: bad, os_type: beos, device_type: server}", "row 2 (bad): field os_type"),
        ("{name: 'bad; rm -rf /', os_type: linux, device_type: server}", "field name"),
    ],
)
async def test_a_bad_row_rejects_the_whole_file(
    conductor: OpsConductor, tmp_path: Path, row: str, message: str
) -> None:
    content = (
        "assets:\n  - {name: web-prod-01, os_type: linux, device_type: server}\n  - " + row + "\n"
    )
    with pytest.raises(ImportRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_assets_file(write(tmp_path, "bad.yaml", content))
    async with conductor.db.session() as session:
        assert await repository.list_assets(session) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.yaml", "assets: [\n", "not valid YAML"),
        ("x.yaml", "hosts: []\n", "expected a mapping with one key, 'assets'"),
        ("x.txt", "whatever", "unknown format .txt"),
        ("x.csv", "name,os_type,device_type\na,linux,server,extra\n", "more values than columns"),
    ],
)
def test_malformed_files_say_what_is_wrong(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(ImportRejected, match=message):
        read_assets_file(write(tmp_path, name, content))


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(ImportRejected, match="not UTF-8"):
        read_assets_file(path)
