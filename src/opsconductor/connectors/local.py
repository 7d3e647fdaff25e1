"""Runs an argv on this machine, for assets whose connection protocol is `local`. No shell.

Its output is masked like a remote host's: a local command may print a secret too."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, ErrorKind, OutputCallback
from opsconductor.connectors.output import CappedOutput, LiveOutput
from opsconductor.credentials.masking import Masker
from opsconductor.credentials.run_secrets import RunSecrets
from opsconductor.inventory.models import Asset


class LocalConnector:
    def __init__(
        self, output_limit_bytes: int = 1024 * 1024, *, secrets: RunSecrets | None = None
    ) -> None:
        self.output_limit = output_limit_bytes
        self.secrets = secrets or RunSecrets()

    async def close(self) -> None:
        return None

    async def run(
        self,
        target: Asset,
        command: Command,
        *,
        timeout_s: float,
        ok_exit_codes: frozenset[int] = frozenset({0}),
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        if command.script is not None:
            return CommandResult(
                exit_code=None,
                error_kind=ErrorKind.NO_CONNECTOR,
                error="PowerShell scripts run over WinRM; the local connector runs POSIX commands",
            )
        masker = await self.secrets.masker()
        try:
            process = await asyncio.create_subprocess_exec(
                *command.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group, so a kill reaches children
            )
        except FileNotFoundError:
            return CommandResult(
                exit_code=127,
                error_kind=ErrorKind.NON_ZERO_EXIT,
                error=f"{command.argv[0]}: command not found on {target.name}",
            )
        live = LiveOutput(masker, on_output)
        return await self._collect(process, command, timeout_s, ok_exit_codes, masker, live)

    async def _collect(
        self,
        process: asyncio.subprocess.Process,
        command: Command,
        timeout_s: float,
        ok_exit_codes: frozenset[int],
        mask: Masker,
        live: LiveOutput,
    ) -> CommandResult:
        assert process.stdout is not None and process.stderr is not None
        stdout = CappedOutput(self.output_limit)
        stderr = CappedOutput(self.output_limit)
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(
                    _pump(process.stdout, stdout, live), _pump(process.stderr, stderr, None)
                )
                exit_code = await process.wait()
        except TimeoutError:
            await _kill(process)
            await live.close()
            return CommandResult(
                exit_code=None,
                stdout=mask(stdout.text()),
                stderr=mask(stderr.text()),
                error_kind=ErrorKind.TIMEOUT,
                error=f"{command.display()} ran past its {timeout_s:g} s timeout and was killed",
                truncated=stdout.truncated,
            )
        except asyncio.CancelledError:
            await _kill(process)
            raise
        failed = exit_code not in ok_exit_codes
        errors = mask(stderr.text())
        return CommandResult(
            exit_code=exit_code,
            stdout=mask(stdout.text()),
            stderr=errors,
            error_kind=ErrorKind.NON_ZERO_EXIT if failed else None,
            error=f"exit code {exit_code}: {errors.strip()[:500]}" if failed else None,
            truncated=stdout.truncated,
        )


async def _pump(stream: asyncio.StreamReader, sink: CappedOutput, live: LiveOutput | None) -> None:
    while chunk := await stream.read(65536):
        kept = sink.add(chunk)
        if kept and live is not None:
            await live.add(kept)
    if live is not None:
        await live.close()


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await process.wait()
