"""Builds the connector registry of a process from its settings and store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsconductor.config import Settings
from opsconductor.connectors.local import LocalConnector
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.credentials.repository import open_credentials
from opsconductor.credentials.run_secrets import OpenedCredentials, RunSecrets
from opsconductor.inventory.models import Asset
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database

if TYPE_CHECKING:
    from opsconductor.connectors.known_hosts import KnownHosts, TrustedKey
    from opsconductor.connectors.ssh import SshConnector
    from opsconductor.connectors.winrm import WinRmConnector
    from opsconductor.credentials.vault import Vault


class _Credentials:
    """Opens every credential of the store for a run (each run asks once); the vault key is
    read when the first credential is opened, so a fleet without credentials never needs one."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._vault: Vault | None = None

    def vault(self) -> Vault:
        if self._vault is None:
            from opsconductor.credentials.vault import Vault

            self._vault = Vault.from_settings(self.settings)
        return self._vault

    async def open_all(self) -> OpenedCredentials:
        async with self.db.reader() as session:  # a read: it must not queue behind writers
            return await open_credentials(session, self.vault)


def connector_registry(settings: Settings, db: Database) -> ConnectorRegistry:
    known_hosts: list[KnownHosts] = []  # one per process, made on first use
    credentials = _Credentials(settings, db)

    async def record_trust(asset: Asset, key: TrustedKey) -> None:
        async with db.session() as session:
            await record_event(
                session,
                actor="system",
                entity_type="asset",
                entity_id=asset.name,
                action="host_key_trusted",
                reason="trust on first use",
                details={"host": key.pattern, "fingerprint": key.fingerprint},
            )

    # asyncssh and pypsrp are imported when a run first needs them: a CLI call that only
    # reads the inventory should not pay for them.
    def ssh(secrets: RunSecrets) -> SshConnector:
        from opsconductor.connectors.known_hosts import KnownHosts
        from opsconductor.connectors.ssh import SshConnector

        if not known_hosts:
            known_hosts.append(KnownHosts(settings.known_hosts_file))
        return SshConnector(
            known_hosts[0],
            secrets,
            trust_on_first_use=settings.ssh_trust_on_first_use,
            on_trust=record_trust,
            output_limit_bytes=settings.output_limit_bytes,
            connect_timeout_s=settings.ssh_connect_timeout_s,
        )

    def winrm(secrets: RunSecrets) -> WinRmConnector:
        from opsconductor.connectors.psrp import PypsrpSession
        from opsconductor.connectors.winrm import WinRmConnector

        return WinRmConnector(
            secrets, PypsrpSession, output_limit_bytes=settings.output_limit_bytes
        )

    def local(secrets: RunSecrets) -> LocalConnector:
        return LocalConnector(settings.output_limit_bytes, secrets=secrets)

    return ConnectorRegistry({"local": local, "ssh": ssh, "winrm": winrm}, credentials.open_all)
