"""Which connector serves an asset, by its connection protocol; connectors live for one run."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, Connector, ErrorKind, OutputCallback
from opsconductor.inventory.models import Asset

ConnectorFactory = Callable[[], Connector]


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

    def __init__(self, factories: dict[str, ConnectorFactory]) -> None:
        self._factories = factories
        self._open: dict[str, Connector] = {}

    def for_asset(self, asset: Asset) -> Connector:
        protocol = asset.connection.protocol.value
        if protocol not in self._open:
            factory = self._factories.get(protocol)
            self._open[protocol] = factory() if factory else Unavailable(protocol)
        return self._open[protocol]

    async def close(self) -> None:
        opened, self._open = self._open, {}
        for connector in opened.values():
            with contextlib.suppress(Exception):
                await connector.close()


class ConnectorRegistry:
    def __init__(self, factories: dict[str, ConnectorFactory]) -> None:
        self.factories = factories

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Connectors]:
        """Connectors for one execution; their connections close when it ends."""
        connectors = Connectors(self.factories)
        try:
            yield connectors
        finally:
            await connectors.close()
