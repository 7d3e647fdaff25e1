"""A fleet of real sshd test hosts as inventory assets, with a conductor that reaches them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import seed
from tests.sshhosts import SshHost

from opsconductor.app import OpsConductor
from opsconductor.config import Settings, load_settings
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.repository import put_credential
from opsconductor.credentials.vault import Vault

CREDENTIAL = "fleet-key"


def fleet_settings(base: Path, hosts: list[SshHost], **overrides: object) -> Settings:
    known_hosts = base / "known_hosts"
    known_hosts.write_text("".join(h.known_hosts_line() + "\n" for h in hosts), encoding="utf-8")
    values: dict[str, object] = {"home": base / "home", "known_hosts": known_hosts}
    return load_settings(**{**values, **overrides})


def host_asset(host: SshHost, *, credential: str = CREDENTIAL) -> dict[str, object]:
    return {
        "name": host.name,
        "hostname": "localhost",
        "ip_address": "127.0.0.1",
        "os_type": "linux",
        "device_type": "server",
        "environment": "lab",
        "tags": ["sshtest"],
        "connection": {
            "protocol": "ssh",
            "port": host.port,
            "username": host.username,
            "credential": credential,
        },
    }


async def add_key_credential(conductor: OpsConductor, name: str, key_path: Path, user: str) -> None:
    secret = Secret(
        kind=CredentialKind.PRIVATE_KEY,
        username=user,
        private_key=key_path.read_text(encoding="utf-8"),
    )
    vault = Vault.from_settings(conductor.settings)
    async with conductor.db.session() as session:
        await put_credential(session, vault, name=name, secret=secret, actor="test")


async def open_fleet(settings: Settings, hosts: list[SshHost]) -> OpsConductor:
    conductor = await OpsConductor.open(settings)
    await add_key_credential(conductor, CREDENTIAL, hosts[0].client_key_path, hosts[0].username)
    await seed(conductor, [host_asset(h) for h in hosts])
    return conductor
