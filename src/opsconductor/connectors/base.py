"""The one interface every connector implements, and what a run of a command returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from opsconductor.catalog.render import Command
from opsconductor.inventory.models import Asset

OutputCallback = Callable[[str], Awaitable[None]]


class ErrorKind(StrEnum):
    NON_ZERO_EXIT = "non_zero_exit"  # the command ran and said it failed
    TIMEOUT = "timeout"  # killed after its step's timeout
    UNREACHABLE = "unreachable"  # no connection to the host
    AUTH_FAILED = "auth_failed"  # the host refused the credentials
    HOST_KEY_MISMATCH = "host_key_mismatch"  # the host is not who it claims to be
    NO_CONNECTOR = "no_connector"  # nothing here can talk the asset's protocol
    CANCELLED = "cancelled"  # stopped on request


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    error_kind: ErrorKind | None = None
    error: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.error_kind is None


class Connector(Protocol):
    """Runs one command on one asset, streaming output; never raises for a failed command."""

    async def run(
        self,
        target: Asset,
        command: Command,
        *,
        timeout_s: float,
        ok_exit_codes: frozenset[int] = frozenset({0}),
        on_output: OutputCallback | None = None,
    ) -> CommandResult: ...

    async def close(self) -> None:
        """Release connections; called once the execution is over."""
