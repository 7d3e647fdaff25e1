"""The WinRM connector: a catalog PowerShell script run over PSRP (pypsrp), with request values
passed as named parameters of that script, never spliced into its text."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, ErrorKind, OutputCallback
from opsconductor.connectors.output import CappedOutput
from opsconductor.credentials.masking import Masker
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.run_secrets import RunSecrets
from opsconductor.inventory.models import Asset

DEFAULT_PORT = 5986  # HTTPS: credentials never cross the wire in the clear


@dataclass(frozen=True)
class PowerShellOutput:
    output: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class PowerShellSession(Protocol):
    """One remote runspace on one host; blocking calls, run in a worker thread."""

    def invoke(self, script: str, parameters: dict[str, str | int]) -> PowerShellOutput: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


SessionFactory = Callable[[Asset, Secret], PowerShellSession]


class UnreachableHost(Exception):
    """The session could not reach the host (raised by sessions, mapped to an error kind)."""


class AuthenticationRefused(Exception):
    """The host refused the credential."""


class WinRmConnector:
    """Logs in with the run's secrets; output comes back whole, masked for every secret of the
    vault."""

    def __init__(
        self,
        secrets: RunSecrets,
        sessions: SessionFactory,
        *,
        output_limit_bytes: int = 1024 * 1024,
    ) -> None:
        self.secrets = secrets
        self.sessions = sessions
        self.output_limit = output_limit_bytes
        self._open: dict[str, PowerShellSession] = {}

    async def run(
        self,
        target: Asset,
        command: Command,
        *,
        timeout_s: float,
        ok_exit_codes: frozenset[int] = frozenset({0}),
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        if command.script is None:
            return _failed(ErrorKind.NO_CONNECTOR, "a POSIX command cannot run over WinRM")
        masker = await self.secrets.masker()
        try:
            session = await self._session(target)
        except AuthenticationRefused as exc:
            return _failed(ErrorKind.AUTH_FAILED, f"{target.name}: {exc}")
        except UnreachableHost as exc:
            return _failed(ErrorKind.UNREACHABLE, f"{target.name}: {exc}")
        work = asyncio.to_thread(session.invoke, command.script, command.parameters)
        try:
            result = await asyncio.wait_for(work, timeout_s)
        except TimeoutError:
            await asyncio.to_thread(session.stop)
            return _failed(ErrorKind.TIMEOUT, f"{target.name}: ran past {timeout_s:g} s; stopped")
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.to_thread(session.stop))
            raise
        except AuthenticationRefused as exc:
            return _failed(ErrorKind.AUTH_FAILED, f"{target.name}: {exc}")
        except UnreachableHost as exc:
            return _failed(ErrorKind.UNREACHABLE, f"{target.name}: {exc}")
        outcome = self._result(target, result, masker)
        if on_output is not None and outcome.stdout:
            await on_output(outcome.stdout)  # PSRP gives the output whole, at the end
        return outcome

    def _result(self, target: Asset, result: PowerShellOutput, mask: Masker) -> CommandResult:
        stdout = CappedOutput(self.output_limit)
        stdout.add("\n".join(result.output).encode())
        text = mask(stdout.text())
        if result.errors:
            errors = mask("\n".join(result.errors))
            return CommandResult(
                exit_code=1,
                stdout=text,
                stderr=errors,
                error_kind=ErrorKind.NON_ZERO_EXIT,
                error=f"{target.name}: {errors[:500]}",
                truncated=stdout.truncated,
            )
        return CommandResult(exit_code=0, stdout=text, truncated=stdout.truncated)

    async def _session(self, target: Asset) -> PowerShellSession:
        session = self._open.get(target.name)
        if session is not None:
            return session
        login = await self.secrets.login(target.connection.credential)
        if login is None or login.kind is not CredentialKind.PASSWORD:
            raise AuthenticationRefused("WinRM needs a password credential on the asset")
        session = self.sessions(target, login)
        self._open[target.name] = session
        return session

    async def close(self) -> None:
        opened, self._open = self._open, {}
        for session in opened.values():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(session.close)


def _failed(kind: ErrorKind, message: str) -> CommandResult:
    return CommandResult(exit_code=None, error_kind=kind, error=message)


def describe_objects(objects: list[Any]) -> list[str]:
    """PowerShell output objects as text lines (the catalog's scripts emit JSON strings)."""
    return [str(item) for item in objects if item is not None]
