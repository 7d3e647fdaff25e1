"""The catalog: shipped toolsets load; bad ones fail naming file and tool; inputs are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconductor.catalog.loader import load_catalog
from opsconductor.errors import CatalogError, ValidationFailed
from opsconductor.kinds import command_for

TOOL = """
toolset: extra
tools:
  - name: extra.echo
    summary: Echo a word
    category: testing
    action: echo
    platforms: [linux]
    connector: shell
    command: [echo, '{word}']
    parameters:
      word: {pattern: '^[a-z]+$'}
    risk: low
    read_only: true
    reversible: true
    estimate_s: 1
    timeout_s: 5
    examples: ['echo {service} on {host}']
"""


def test_builtin_catalog_has_the_promised_tools() -> None:
    catalog = load_catalog()
    for name in [
        "inventory.count_assets",
        "inventory.list_assets",
        "inventory.asset_details",
        "linux.disk_usage",
        "linux.memory",
        "linux.cpu_load",
        "linux.uptime",
        "linux.service_status",
        "linux.service_restart",
        "linux.tail_log",
        "linux.processes",
        "linux.kill_process",
        "linux.reboot",
        "windows.disk_usage",
        "windows.service_restart",
        "windows.reboot",
        "workflows.health_check_linux",
        "workflows.deploy",
    ]:
        assert name in catalog, name
    assert catalog.get("workflows.deploy").risk.approval_level >= 2
    assert catalog.get("linux.drop_database").risk.approval_level == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    risk: low\n", "    risk: low\n    colour: blue\n"), "tool 'extra.echo': colour"),
        (("[echo, '{word}']", "[echo, 'x{word}']"), "placeholder must be a whole item"),
        (("[echo, '{word}']", "[echo, '{other}']"), "undeclared parameters"),
        (("{pattern: '^[a-z]+$'}", "{}"), "needs a pattern or an enum"),
        (("connector: shell", "connector: telepathy"), "connector"),
    ],
)
def test_bad_toolsets_name_file_and_tool(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    (tmp_path / "extra.yaml").write_text(TOOL.replace(*change), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog([tmp_path])
    assert str(tmp_path / "extra.yaml") in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "value",
    ["; rm -rf /", "$(id)", "`id`", "nginx\nreboot", "'quoted'", "--option", "-x", "a" * 129, ""],
)
def test_hostile_values_never_validate(value: str) -> None:
    tool = load_catalog().get("linux.service_restart")
    with pytest.raises(ValidationFailed):
        tool.validate_inputs({"service": value})


def test_a_value_is_exactly_one_argument() -> None:
    tool = load_catalog().get("linux.tail_log")
    inputs = tool.validate_inputs({"path": "/var/log/nginx/access.log", "lines": "20"})
    assert command_for(tool, inputs).argv == (
        "tail",
        "-n",
        "20",
        "--",
        "/var/log/nginx/access.log",
    )
    with pytest.raises(ValidationFailed):
        tool.validate_inputs({"path": "/var/log/../../etc/shadow"})
    with pytest.raises(ValidationFailed):
        tool.validate_inputs({"path": "/etc/shadow"})


def test_powershell_values_are_parameters_not_script_text() -> None:
    tool = load_catalog().get("windows.service_restart")
    command = command_for(tool, tool.validate_inputs({"service": "Spooler"}))
    assert command.parameters == {"service": "Spooler"}
    assert "Spooler" not in (command.script or "")
