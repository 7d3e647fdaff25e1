"""WinRM at the boundary we can reach: the PSRP pipeline pypsrp would send, and the connector
end to end through the pipeline against a named fake PowerShell host (no Windows host here)."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypsrp.complex_objects import Pipeline
from pypsrp.powershell import RunspacePool
from pypsrp.serializer import Serializer
from pypsrp.wsman import WSMan
from tests.conftest import seed

from opsconductor.app import OpsConductor
from opsconductor.brain.rules import RulesBrain
from opsconductor.catalog.loader import load_catalog
from opsconductor.config import load_settings
from opsconductor.connectors.base import ErrorKind
from opsconductor.connectors.local import LocalConnector
from opsconductor.connectors.psrp import build_pipeline
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.connectors.winrm import PowerShellOutput, WinRmConnector
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.repository import open_credentials, put_credential
from opsconductor.credentials.run_secrets import OpenedCredentials, RunSecrets
from opsconductor.credentials.vault import Vault
from opsconductor.execution.events import InProcessEventBus
from opsconductor.inventory.models import Asset
from opsconductor.kinds import command_for
from opsconductor.store.database import Database

HOSTILE = "Spooler'; Remove-Item C:\\ -Recurse -Force; '"
PASSWORD = "Winter2026!correct-horse"


def test_values_travel_as_psrp_parameters_not_script_text() -> None:
    script = load_catalog().get("windows.service_restart").script or ""
    pool = RunspacePool(WSMan("192.0.2.1", username="u", password="p", auth="ntlm"))
    pool.protocol_version = "2.3"  # what a server negotiates; nothing is sent here
    shell = build_pipeline(pool, script, {"service": HOSTILE})
    pipeline = Pipeline(is_nested=False, cmds=shell.commands, history="", redirect_err_to_out=False)
    xml = ET.tostring(Serializer().serialize(pipeline)).decode()
    command = ET.fromstring(xml).find(".//LST/Obj/MS")
    assert command is not None
    sent_script = command.find("S[@N='Cmd']")
    assert sent_script is not None and HOSTILE not in (sent_script.text or "")
    assert command.find("B[@N='IsScript']").text == "true"  # type: ignore[union-attr]
    names = [e.text for e in command.iter("S") if e.get("N") == "N"]
    values = [e.text for e in command.iter("S") if e.get("N") == "V"]
    assert names == ["service"] and values == [HOSTILE]


class FakePowerShellHost:
    """Fake of a Windows host's PowerShell (no Windows here): records what it is asked and
    answers as the catalog's scripts would, in JSON."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[tuple[str, dict[str, str | int]]] = []
        self.delay_s = delay_s
        self.stopped = threading.Event()

    def session(self, _asset: Asset, _login: Secret) -> FakePowerShellHost:
        return self

    def invoke(self, script: str, parameters: dict[str, str | int]) -> PowerShellOutput:
        self.calls.append((script, dict(parameters)))
        self.stopped.wait(self.delay_s)  # works for delay_s, unless stopped first
        if "Get-PSDrive" in script:
            return PowerShellOutput(output=['[{"Name":"C","Used":60000000000,"Free":40000000000}]'])
        if "Restart-Service" in script:
            return PowerShellOutput(output=[f"restarted; login was {PASSWORD}"])
        return PowerShellOutput(errors=["The term is not recognized"])

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        return None


@pytest.fixture
async def windows(tmp_path: Path) -> AsyncIterator[tuple[OpsConductor, FakePowerShellHost]]:
    settings = load_settings(home=tmp_path / "home")
    catalog = load_catalog()
    db = await Database.connect(settings)
    fake = FakePowerShellHost()
    conductor: OpsConductor

    async def open_all() -> OpenedCredentials:
        async with db.session() as session:
            return await open_credentials(session, lambda: Vault.from_settings(settings))

    registry = ConnectorRegistry(
        {
            "local": lambda secrets: LocalConnector(secrets=secrets),
            "winrm": lambda secrets: WinRmConnector(secrets, fake.session),
        },
        open_all,
    )
    conductor = OpsConductor(
        settings, db, catalog, RulesBrain(catalog), InProcessEventBus(), registry
    )
    vault = Vault.from_settings(settings)
    async with db.session() as session:
        secret = Secret(kind=CredentialKind.PASSWORD, username="ops", password=PASSWORD)
        await put_credential(session, vault, name="win-admin", secret=secret, actor="test")
    await seed(
        conductor,
        [
            {
                "name": "ws-01",
                "ip_address": "192.0.2.10",
                "os_type": "windows",
                "device_type": "workstation",
                "connection": {"protocol": "winrm", "credential": "win-admin"},
            }
        ],
    )
    try:
        yield conductor, fake
    finally:
        await conductor.close()


async def test_disk_check_is_answered_from_powershell_json(
    windows: tuple[OpsConductor, FakePowerShellHost],
) -> None:
    conductor, fake = windows
    answer = await conductor.pipeline.ask("check disk space on ws-01", requester="a", confirm=True)
    assert answer.execution_state == "succeeded", answer.response.message
    assert answer.response.message == "ws-01: C: is 60% full, 37.3 GB free"
    assert fake.calls[0][1] == {}


async def test_service_name_is_a_parameter_and_secrets_are_masked(
    windows: tuple[OpsConductor, FakePowerShellHost],
) -> None:
    conductor, fake = windows
    answer = await conductor.pipeline.ask(
        "restart service Spooler on ws-01", requester="a", confirm=True
    )
    assert answer.execution_state == "succeeded", answer.response.message
    script, parameters = fake.calls[0]
    assert parameters == {"service": "Spooler"} and "Spooler" not in script
    assert answer.result is not None
    output = answer.result.step_results[0].output
    assert PASSWORD not in output and "***" in output


WORKSTATION = Asset.model_validate(
    {
        "name": "ws-02",
        "ip_address": "192.0.2.11",
        "os_type": "windows",
        "device_type": "workstation",
        "connection": {"protocol": "winrm", "credential": "ws-login"},
    }
)


async def test_timeout_stops_the_pipeline() -> None:
    fake = FakePowerShellHost(delay_s=30)

    login = Secret(kind=CredentialKind.PASSWORD, username="ops", password=PASSWORD)
    connector = WinRmConnector(RunSecrets.of({"ws-login": login}), fake.session)
    command = command_for(load_catalog().get("windows.disk_usage"), {})
    result = await connector.run(WORKSTATION, command, timeout_s=0.3)
    await connector.close()
    assert result.error_kind is ErrorKind.TIMEOUT
    assert fake.stopped.is_set()


async def test_a_key_credential_cannot_log_in_over_winrm() -> None:
    fake = FakePowerShellHost()

    login = Secret(kind=CredentialKind.PRIVATE_KEY, username="ops", private_key="k" * 40)
    connector = WinRmConnector(RunSecrets.of({"ws-login": login}), fake.session)
    command = command_for(load_catalog().get("windows.disk_usage"), {})
    result = await connector.run(WORKSTATION, command, timeout_s=5)
    assert result.error_kind is ErrorKind.AUTH_FAILED and fake.calls == []
