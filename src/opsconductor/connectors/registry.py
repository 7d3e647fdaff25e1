"""The connectors of a run: which one serves an asset (by its connection protocol), and the
inventory connector reading through the run's session. They live for one run and share its
secrets (opened once for the run, masked in all of its output)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, Connector, ErrorKind, OutputCallback
from opsconductor.connectors.inventory import InventoryConnector, SessionReads
from opsconductor.credentials.run_secrets import CredentialsLoader, RunSecrets
from opsconductor.inventory.models import Asset

ConnectorFactory = Callable[[RunSecrets], Connector]  # given the secrets of the run it serves


class Unavailable:
    """Stands in for a protocol nothing here can talk: every run fails, clearly."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol

    async def run(
        self,
        target: Asset,
        command: Command,
        *,
        timeout_s: float,
        ok_exit_codes: frozenset[int] = frozenset({0}),
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        return CommandResult(
            exit_code=None,
            error_kind=ErrorKind.NO_CONNECTOR,
            error=f"no connector for protocol {self.protocol}: {target.name} was not contacted",
        )

    async def close(self) -> None:
        return None


class Connectors:
    """The connectors of one execution, created on first use and closed together."""

    def __init__(
        self,
        factories: dict[str, ConnectorFactory],
        secrets: RunSecrets | None = None,
        reads: SessionReads | None = None,
    ) -> None:
        self._factories = factories
        self.secrets = secrets or RunSecrets()
        self._reads = reads
        self._open: dict[str, Connector] = {}

    @property
    def inventory(self) -> InventoryConnector:
        if self._reads is None:
            raise RuntimeError("these connectors were opened without the run's session")
        return InventoryConnector(self._reads)

    def for_asset(self, asset: Asset) -> Connector:
        protocol = asset.connection.protocol.value
        if protocol not in self._open:
            factory = self._factories.get(protocol)
            self._open[protocol] = factory(self.secrets) if factory else Unavailable(protocol)
        return self._open[protocol]

    async def close(self) -> None:
        opened, self._open = self._open, {}
        for connector in opened.values():
            with contextlib.suppress(Exception):
                await connector.close()


class ConnectorRegistry:
    """`credentials` loads every credential of the vault; it runs at most once per execution,
    when a connector of that execution first needs a login or a masker."""

    def __init__(
        self, factories: dict[str, ConnectorFactory], credentials: CredentialsLoader | None = None
    ) -> None:
        self.factories = factories
        self.credentials = credentials

    @contextlib.asynccontextmanager
    async def open(self, reads: SessionReads | None = None) -> AsyncIterator[Connectors]:
        """Connectors for one execution, the inventory reading with `reads`; their connections
        close when it ends."""
        connectors = Connectors(self.factories, RunSecrets(self.credentials), reads)
        try:
            yield connectors
        finally:
            await connectors.close()
