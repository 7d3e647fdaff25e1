"""A connector driven by a handler, for tests that need a host but not the wire.

In the spirit of `httpx.MockTransport(handler)`: the handler gets one :class:`FakeCall` (the
asset, the command, the step's timeout and ok exit codes, and `output()` to stream) and
returns the :class:`CommandResult`; it may be a plain function or a coroutine, and may sleep
to act out long work. Around it the fake keeps the rest of the :class:`Connector` contract
the way a real connector does, so that the engine cannot tell the difference:

- after `timeout_s` the handler is cancelled (the "remote work" stops) and the result is
  `ErrorKind.TIMEOUT`, holding the output streamed so far;
- when the awaiting task is cancelled, the handler is cancelled with it (it can see the
  `CancelledError`), and the cancellation propagates;
- streamed output is decoded and masked like a real host's (a secret split across two
  chunks is held back until it can be masked whole), and the chunks add up to the result's
  stdout. A handler that streams may leave the result's stdout empty: the streamed text is
  used. A handler that streams one text and returns another has a bug, and the fake says so.

The fake does not cap output; the output cap belongs to the real connectors' tests.

Register it under a protocol name, like any connector::

    ConnectorRegistry({"ssh": FakeConnector.factory(handler)})
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, ErrorKind, OutputCallback
from opsconductor.connectors.output import LiveOutput
from opsconductor.connectors.registry import ConnectorFactory
from opsconductor.credentials.masking import Masker
from opsconductor.credentials.run_secrets import RunSecrets
from opsconductor.inventory.models import Asset


@dataclass
class FakeCall:
    """One `run` as the handler sees it, and as the test reads it afterwards."""

    asset: Asset
    command: Command
    timeout_s: float
    ok_exit_codes: frozenset[int]
    streamed: list[str] = field(default_factory=list)  # the raw chunks, before masking
    cancelled: bool = False  # the handler was stopped: by a timeout or by a cancelled task
    _live: LiveOutput | None = field(default=None, repr=False)

    async def output(self, text: str) -> None:
        """Stream `text` as the host's next chunk of stdout."""
        self.streamed.append(text)
        if self._live is not None:
            await self._live.add(text.encode())

    def exit(self, code: int, stdout: str = "", stderr: str = "") -> CommandResult:
        """The result of a command that ran and exited with `code`, judged by the step's ok
        exit codes as a real connector judges it."""
        if code in self.ok_exit_codes:
            return CommandResult(exit_code=code, stdout=stdout, stderr=stderr)
        return CommandResult(
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
            error_kind=ErrorKind.NON_ZERO_EXIT,
            error=f"exit code {code}: {stderr.strip()[:500]}",
        )


Handler = Callable[[FakeCall], "CommandResult | Awaitable[CommandResult]"]


class FakeConnector:
    """A :class:`Connector` whose hosts are a handler. `calls` lists every run, in order."""

    def __init__(
        self,
        handler: Handler,
        *,
        secrets: RunSecrets | None = None,
        calls: list[FakeCall] | None = None,
    ) -> None:
        self.handler = handler
        self.secrets = secrets or RunSecrets()
        self.calls: list[FakeCall] = [] if calls is None else calls
        self.closed = False

    @classmethod
    def factory(cls, handler: Handler, calls: list[FakeCall] | None = None) -> ConnectorFactory:
        """A factory for a `ConnectorRegistry`: each execution gets its own fake, with that
        run's secrets; `calls`, when given, collects the runs of all of them."""

        def make(secrets: RunSecrets) -> FakeConnector:
            return cls(handler, secrets=secrets, calls=calls)

        return make

    async def close(self) -> None:
        self.closed = True

    async def run(
        self,
        target: Asset,
        command: Command,
        *,
        timeout_s: float,
        ok_exit_codes: frozenset[int] = frozenset({0}),
        on_output: OutputCallback | None = None,
    ) -> CommandResult:
        mask = await self.secrets.masker()
        call = FakeCall(target, command, timeout_s, ok_exit_codes)
        call._live = LiveOutput(mask, on_output)
        self.calls.append(call)
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                result = await self._handle(call)
        except TimeoutError:
            if not deadline.expired():
                raise  # the handler's own TimeoutError: a bug in the test, not an outcome
            await call._live.close()
            return CommandResult(
                exit_code=None,
                stdout=mask("".join(call.streamed)),
                error_kind=ErrorKind.TIMEOUT,
                error=f"{command.display()} ran past its {timeout_s:g} s timeout and was killed",
            )
        await call._live.close()
        return _settled(call, result, mask)

    async def _handle(self, call: FakeCall) -> CommandResult:
        try:
            answer = self.handler(call)
            return await answer if inspect.isawaitable(answer) else answer
        except asyncio.CancelledError:
            call.cancelled = True
            raise


def _settled(call: FakeCall, result: CommandResult, mask: Masker) -> CommandResult:
    streamed = "".join(call.streamed)
    if streamed and result.stdout and result.stdout != streamed:
        raise AssertionError(
            f"the handler streamed {streamed!r} but returned stdout {result.stdout!r}"
        )
    return CommandResult(
        exit_code=result.exit_code,
        stdout=mask(result.stdout or streamed),
        stderr=mask(result.stderr),
        error_kind=result.error_kind,
        error=mask(result.error) if result.error is not None else None,
        truncated=result.truncated,
    )
