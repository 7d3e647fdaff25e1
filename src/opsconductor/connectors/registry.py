"""Which connector serves an asset, by its connection protocol."""

from __future__ import annotations

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, Connector, ErrorKind, OutputCallback
from opsconductor.connectors.local import LocalConnector
from opsconductor.inventory.models import Asset


class Unavailable:
    """Stands in for a protocol nothing here can talk yet: every run fails, clearly."""

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
            error=f"no connector for protocol {self.protocol} yet: {target.name} was not contacted",
        )


class ConnectorRegistry:
    def __init__(self, connectors: dict[str, Connector]) -> None:
        self.connectors = connectors

    @classmethod
    def default(cls, output_limit_bytes: int) -> ConnectorRegistry:
        return cls({"local": LocalConnector(output_limit_bytes)})

    def for_asset(self, asset: Asset) -> Connector:
        protocol = asset.connection.protocol.value
        return self.connectors.get(protocol) or Unavailable(protocol)
