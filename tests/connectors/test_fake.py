"""The fake connector keeps the Connector contract: results as values, the timeout, the
cancellation that reaches the handler, masked streaming that adds up to the result."""

from __future__ import annotations

import asyncio

import pytest

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult, ErrorKind
from opsconductor.connectors.fake import FakeCall, FakeConnector
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.credentials.masking import MASK
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.run_secrets import OpenedCredentials, RunSecrets
from opsconductor.inventory.models import Asset

HOST = Asset.model_validate(
    {"name": "web-01", "hostname": "web-01.example", "os_type": "linux", "device_type": "server"}
)
UPTIME = Command(argv=("uptime",))
PASSWORD = "s3cret-fake-passw0rd-91"


async def test_a_plain_function_answers_and_sees_what_was_asked() -> None:
    def handler(call: FakeCall) -> CommandResult:
        return call.exit(0, stdout=f"{call.asset.name}: {' '.join(call.command.argv)}")

    fake = FakeConnector(handler)
    result = await fake.run(HOST, UPTIME, timeout_s=5)
    assert result == CommandResult(exit_code=0, stdout="web-01: uptime")
    assert [(c.asset.name, c.command, c.timeout_s) for c in fake.calls] == [("web-01", UPTIME, 5)]


async def test_exit_codes_are_judged_by_the_steps_ok_codes() -> None:
    fake = FakeConnector(lambda call: call.exit(1, stderr="not running\n"))
    failed = await fake.run(HOST, UPTIME, timeout_s=5)
    allowed = await fake.run(HOST, UPTIME, timeout_s=5, ok_exit_codes=frozenset({0, 1}))
    assert failed.error_kind is ErrorKind.NON_ZERO_EXIT
    assert failed.error == "exit code 1: not running"
    assert allowed.ok and allowed.exit_code == 1


async def test_the_timeout_stops_the_handler_and_keeps_what_it_streamed() -> None:
    async def handler(call: FakeCall) -> CommandResult:
        await call.output("working\n")
        await asyncio.Event().wait()  # never set: works until stopped
        raise AssertionError("not reached")

    fake = FakeConnector(handler)
    result = await fake.run(HOST, UPTIME, timeout_s=0.05)
    assert result.error_kind is ErrorKind.TIMEOUT and result.exit_code is None
    assert result.stdout == "working\n"
    assert fake.calls[0].cancelled


async def test_a_handlers_own_timeout_error_is_a_bug_not_a_timeout() -> None:
    def handler(call: FakeCall) -> CommandResult:
        raise TimeoutError("the handler is broken")

    with pytest.raises(TimeoutError, match="broken"):
        await FakeConnector(handler).run(HOST, UPTIME, timeout_s=5)


async def test_cancelling_the_caller_cancels_the_handler() -> None:
    started = asyncio.Event()
    saw: list[str] = []

    async def handler(call: FakeCall) -> CommandResult:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            saw.append("cancelled")
            raise
        raise AssertionError("not reached")

    fake = FakeConnector(handler)
    task = asyncio.create_task(fake.run(HOST, UPTIME, timeout_s=60))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saw == ["cancelled"] and fake.calls[0].cancelled


async def test_streamed_output_is_masked_live_and_adds_up_to_the_result() -> None:
    chunks: list[str] = []
    seen_first = asyncio.Event()

    async def follow(chunk: str) -> None:
        chunks.append(chunk)
        seen_first.set()

    async def handler(call: FakeCall) -> CommandResult:
        await call.output("start\n")
        await seen_first.wait()  # the follower had the first chunk before the run ended
        await call.output(f"pw={PASSWORD[:8]}")
        await call.output(f"{PASSWORD[8:]}\n")
        return call.exit(0)

    secret = Secret(CredentialKind.PASSWORD, "ops", password=PASSWORD)
    fake = FakeConnector(handler, secrets=RunSecrets.of({"ops": secret}))
    result = await fake.run(HOST, UPTIME, timeout_s=5, on_output=follow)
    assert result.ok and result.stdout == f"start\npw={MASK}\n"
    assert "".join(chunks) == result.stdout and chunks[0] == "start\n"
    assert not any(PASSWORD[:8] in chunk for chunk in chunks)


async def test_streaming_one_text_and_returning_another_is_a_bug() -> None:
    async def handler(call: FakeCall) -> CommandResult:
        await call.output("one")
        return call.exit(0, stdout="two")

    with pytest.raises(AssertionError, match="streamed"):
        await FakeConnector(handler).run(HOST, UPTIME, timeout_s=5)


async def test_a_registry_serves_it_with_the_runs_secrets_and_closes_it() -> None:
    calls: list[FakeCall] = []
    secret = Secret(CredentialKind.PASSWORD, "ops", password=PASSWORD)

    async def load() -> OpenedCredentials:
        return OpenedCredentials({"ops": secret})

    registry = ConnectorRegistry(
        {"ssh": FakeConnector.factory(lambda call: call.exit(0, PASSWORD), calls)}, load
    )
    async with registry.open() as connectors:
        fake = connectors.for_asset(HOST)
        result = await fake.run(HOST, UPTIME, timeout_s=5)
    assert isinstance(fake, FakeConnector) and fake.closed
    assert result.stdout == MASK and len(calls) == 1
