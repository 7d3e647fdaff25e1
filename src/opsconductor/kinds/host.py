"""What the kinds that run a command on each target host share: the host's connector runs the
rendered command, and the tool's parser reads what it printed."""

from __future__ import annotations

from opsconductor.catalog.parsers import parse_output
from opsconductor.kinds.base import StepCall, StepRun, ToolKind


class HostCommandKind(ToolKind):
    """A kind whose tools render one :class:`Command` and run it on every target host."""

    async def run(self, call: StepCall) -> StepRun:
        assert call.host is not None, f"{call.tool.name} runs on a host"
        connector = call.connectors.for_asset(call.host)
        result = await connector.run(
            call.host,
            self.command(call.tool, call.inputs),
            timeout_s=call.timeout_s,
            ok_exit_codes=frozenset(call.tool.ok_exit_codes),
            on_output=call.on_output,
        )
        parsed = parse_output(call.tool.parser, result.stdout) if result.ok else None
        return StepRun(result, parsed)
