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
    """Runs one command on one asset, streaming output. The contract every connector keeps:

    - **Expected outcomes are values.** A non-zero exit, an unreachable host, refused
      credentials, a changed host key or a timeout come back as a :class:`CommandResult` with
      its :class:`ErrorKind`; `run` raises only for bugs.
    - **The timeout is honoured.** After `timeout_s` the command is stopped on its host and the
      result is `ErrorKind.TIMEOUT`.
    - **Cancellation stops remote work.** When the awaiting task is cancelled, the command's
      processes on the host are killed before `CancelledError` propagates.
    - **Output streams.** `on_output` gets the output as it arrives, decoded incrementally and
      masked for every secret the run knows (a secret split across reads is held back, never
      shown); the chunks add up to the result's (capped, masked) output.
    - **Connections belong to one execution** and are released by :meth:`close`.
    """

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
