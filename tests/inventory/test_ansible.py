"""Importing Ansible inventories (INI and YAML) as assets."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconductor.app import OpsConductor
from opsconductor.errors import ImportRejected
from opsconductor.inventory import repository
from opsconductor.inventory.importers import read_assets_file
from opsconductor.inventory.models import Asset

INI = """
# the web tier
jump.example.com ansible_port=2200

[web]
web[01:03].example.com ansible_user=deploy
; a load balancer
lb-1 ansible_host=10.0.0.5

[db]
db-[a:b].example.com
web01.example.com  # also a database, one asset with both tags

[windows]
ws-01 ansible_host=ws-01.corp.example ansible_connection=winrm ansible_port=5986

[linux:children]
web
db

[prod:children]
linux

[linux:vars]
ansible_user = admin
motd="hello, world"  # an unknown var, ignored

[all:vars]
ansible_python_interpreter=/usr/bin/python3
"""

YAML = """
all:
  hosts:
    jump.example.com: {ansible_port: 2200}
  children:
    prod:
      children:
        linux:
          vars: {ansible_user: admin, motd: "hello, world"}
          children:
            web:
              hosts:
                web[01:03].example.com: {ansible_user: deploy}
                lb-1: {ansible_host: 10.0.0.5}
            db:
              hosts:
                db-[a:b].example.com:
                web01.example.com:
    windows:
      hosts:
        ws-01: {ansible_host: ws-01.corp.example, ansible_connection: winrm, ansible_port: 5986}
"""


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def by_name(assets: list[Asset]) -> dict[str, Asset]:
    return {asset.name: asset for asset in assets}


@pytest.mark.parametrize(("name", "content"), [("hosts", INI), ("inventory.yml", YAML)])
def test_ini_and_yaml_inventories_give_the_same_assets(
    tmp_path: Path, name: str, content: str
) -> None:
    assets = by_name(read_assets_file(write(tmp_path, name, content)))
    assert sorted(assets) == [
        "db-a.example.com",
        "db-b.example.com",
        "jump.example.com",
        "lb-1",
        "web01.example.com",
        "web02.example.com",
        "web03.example.com",
        "ws-01",
    ]
    web = assets["web01.example.com"]
    assert web.tags == ["db", "linux", "prod", "web"]
    assert web.hostname == "web01.example.com" and web.ip_address is None
    assert web.connection.username == "deploy"  # host var beats the group var
    assert web.environment == "production" and web.os_type == "linux"
    assert web.device_type == "server"
    assert assets["db-a.example.com"].connection.username == "admin"  # from [linux:vars]
    lb = assets["lb-1"]
    assert lb.ip_address == "10.0.0.5" and lb.hostname is None
    jump = assets["jump.example.com"]
    assert jump.tags == [] and jump.environment is None
    assert jump.connection.port == 2200 and jump.connection.protocol == "ssh"
    ws = assets["ws-01"]
    assert ws.hostname == "ws-01.corp.example" and ws.os_type == "windows"
    assert ws.connection.protocol == "winrm" and ws.connection.port == 5986


def test_ranges_keep_leading_zeros_and_accept_steps(tmp_path: Path) -> None:
    content = "[web]\nweb[008:010:2]\nnode-[x:y]-[1:2] ansible_host='10.9.9.9'\n"
    assets = read_assets_file(write(tmp_path, "hosts.ini", content))
    names = [asset.name for asset in assets]
    assert names == ["web008", "web010", "node-x-1", "node-x-2", "node-y-1", "node-y-2"]
    assert assets[2].ip_address == "10.9.9.9" and assets[2].hostname is None


def test_quoted_values_host_port_and_vars_from_facts(tmp_path: Path) -> None:
    content = (
        '[mac]\nbuild-01:2222 ansible_user="ci" device_type=workstation\n'
        "[mac:vars]\nansible_system = Darwin\n"
        "[psrp]\nwin-02 ansible_connection=psrp\n"
        "[win]\nwin-03 ansible_os_family=Windows\n"
    )
    assets = by_name(read_assets_file(write(tmp_path, "inventory", content)))
    build = assets["build-01"]
    assert build.connection.port == 2222 and build.connection.username == "ci"
    assert build.os_type == "macos" and build.device_type == "workstation"
    assert assets["win-02"].os_type == "windows" and assets["win-02"].connection.protocol == "winrm"
    win3 = assets["win-03"]
    assert win3.os_type == "windows" and win3.connection.protocol == "ssh"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "hosts",
            "[web]\nweb-1\nweb-2 ansible_password=hunter2\n",
            "row 2 (web-2): ansible_password: secrets do not belong in the inventory; "
            "use `opsconductor credentials add`",
        ),
        ("hosts", "[web]\nweb-1\n[web:vars]\nansible_become_pass='hunter2'\n", "group web"),
        ("hosts", "[web]\nweb-1 ansible_ssh_private_key_file=/k/hunter2\n", "row 1 (web-1)"),
        (
            "inv.yaml",
            "all:\n  hosts:\n    web-1:\n      ansible_ssh_pass: hunter2\n",
            "row 1 (web-1): ansible_ssh_pass: secrets do not belong",
        ),
    ],
)
def test_a_password_var_refuses_the_inventory_without_echoing_it(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(ImportRejected, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        read_assets_file(write(tmp_path, name, content))
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "hosts",
            "[net]\nsw-1\nsw-2 ansible_connection=network_cli\n",
            r"row 2 \(sw-2\): ansible_connection: 'network_cli' is not supported",
        ),
        ("hosts", "[web]\nweb[5:1]\n", "line 2: bad host range"),
        ("hosts", '[web]\nweb-1 ansible_user="deploy\n', "line 2: unbalanced quotes"),
        ("hosts", "[web]\nweb-1 deploy\n", "line 2: expected key=value"),
        ("hosts", "[web:facts]\n", "line 1: expected \\[group\\]"),
        ("hosts", "[a:children]\nb\n[b:children]\na\n", "is its own ancestor"),
        ("hosts", "[web]\nweb-1 ansible_port=http\n", r"row 1 \(web-1\): field connection.port"),
        ("x.yaml", "all:\n  hots: {web-1: {}}\n", "group all: unknown key 'hots'"),
        ("x.yaml", "web:\n  hosts: [web-1]\n", "group web: hosts: expected a mapping"),
    ],
)
def test_bad_inventories_say_what_is_wrong(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(ImportRejected, match=message):
        read_assets_file(write(tmp_path, name, content))


def test_environment_needs_exactly_one_environment_group(tmp_path: Path) -> None:
    content = "[dev]\nboth\nonly-dev\n[qa]\nboth\n"
    assets = by_name(read_assets_file(write(tmp_path, "hosts.cfg", content)))
    assert assets["only-dev"].environment == "development"
    assert assets["both"].environment is None and assets["both"].tags == ["dev", "qa"]


def test_opsconductor_yaml_is_not_mistaken_for_ansible(tmp_path: Path) -> None:
    content = "assets:\n  - {name: all, os_type: linux, device_type: server}\n"
    [asset] = read_assets_file(write(tmp_path, "a.yaml", content))
    assert asset.name == "all"


async def test_an_ansible_inventory_imports_into_the_store(
    conductor: OpsConductor, tmp_path: Path
) -> None:
    assets = read_assets_file(write(tmp_path, "hosts", INI))
    async with conductor.db.session() as session:
        summary = await repository.upsert_assets(session, assets)
    async with conductor.db.session() as session:
        again = await repository.upsert_assets(session, read_assets_file(tmp_path / "hosts"))
        stored = await repository.get_asset(session, "ws-01")
    assert len(summary.created) == 8 and len(again.unchanged) == 8
    assert stored.os_type == "windows" and stored.connection.protocol == "winrm"
    assert stored.tags == ["windows"] and stored.hostname == "ws-01.corp.example"
