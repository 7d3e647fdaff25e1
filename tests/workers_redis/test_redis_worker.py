"""Background executions through a real Redis and taskiq's real receiver, worker and broker in
this process: sent after commit, each run once however often its message arrives, and a lost
message (sent to nobody, or to a Redis that forgot it) sent again by the sweeper."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from sqlalchemy import func, select
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.queue.redis import RedisWorker, stream_name
from opsconductor.store.tables import AuditEventRow, ExecutionRow, StepRunRow, utcnow

HEALTH_CHECK_STEPS = 4  # a full health check on a local asset: four read-only checks


@pytest.fixture
def queue_settings(settings: Settings, redis_url: str, redis_prefix: str) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": SecretStr(redis_url),
            "redis_prefix": redis_prefix,
            "queue_resend_s": 0.5,
            "immediate_threshold_s": 0.5,  # a health check goes to the background
        }
    )


@pytest.fixture
async def api(queue_settings: Settings) -> AsyncIterator[OpsConductor]:
    """The process that queues work (its dispatcher sends to Redis)."""
    conductor = await OpsConductor.open(queue_settings)
    await seed(conductor, FLEET)
    try:
        yield conductor
    finally:
        await conductor.close()


@contextlib.asynccontextmanager
async def worker_running(
    settings: Settings, name: str, concurrency: int = 2
) -> AsyncIterator[RedisWorker]:
    conductor = await OpsConductor.open(settings)
    worker = RedisWorker(conductor, name=name, concurrency=concurrency)
    task = asyncio.create_task(worker.serve(poll_s=0.2, handle_signals=False))
    try:
        yield worker
    finally:
        worker.sweeper.stopping.set()
        await asyncio.wait_for(task, 30)
        await conductor.close()


async def queue_health_checks(api: OpsConductor, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        answer = await api.pipeline.ask(
            "run a full health check on ops-console", requester="alice", wait=False
        )
        assert answer.execution_state == "queued" and answer.execution_id
        ids.append(answer.execution_id)
    return ids


async def wait_for_states(
    api: OpsConductor, ids: list[str], timeout_s: float = 60
) -> dict[str, str]:
    async with asyncio.timeout(timeout_s):
        while True:
            states = {i: (await api.executions.result(i)).status for i in ids}
            if all(s not in {"queued", "running", "approved"} for s in states.values()):
                return states
            await asyncio.sleep(0.1)


async def counts(api: OpsConductor) -> tuple[int, list[str]]:
    async with api.db.reader() as session:
        steps = await session.scalar(select(func.count()).select_from(StepRunRow))
        claims = list(
            await session.scalars(
                select(AuditEventRow.actor).where(AuditEventRow.reason.startswith("claimed by"))
            )
        )
    return int(steps or 0), claims


async def test_two_workers_run_each_queued_execution_once(
    api: OpsConductor, queue_settings: Settings
) -> None:
    async with (
        worker_running(queue_settings, "w1"),
        worker_running(queue_settings, "w2"),
    ):
        ids = await queue_health_checks(api, 8)
        states = await wait_for_states(api, ids)
    steps, claims = await counts(api)
    assert set(states.values()) == {"succeeded"}, states
    assert steps == 8 * HEALTH_CHECK_STEPS  # nothing ran twice
    assert len(claims) == 8
    async with api.db.reader() as session:
        ran_by = set(await session.scalars(select(ExecutionRow.claimed_by)))
    assert ran_by <= {"w1", "w2"} and ran_by


async def test_duplicated_and_stale_messages_run_nothing_again(
    api: OpsConductor, queue_settings: Settings
) -> None:
    async with worker_running(queue_settings, "w1"):
        [execution_id] = await queue_health_checks(api, 1)
        await wait_for_states(api, [execution_id])
        for _ in range(3):  # as if redelivered, or sent again by a sweeper
            await api.dispatcher.send(execution_id)
        await asyncio.sleep(1.0)
    steps, claims = await counts(api)
    assert steps == HEALTH_CHECK_STEPS and len(claims) == 1


async def test_a_message_redis_lost_is_sent_again_by_the_sweeper(
    api: OpsConductor, queue_settings: Settings, redis_url: str
) -> None:
    """Queued while no worker listened, then the stream vanished (as on a Redis restart): the
    worker started later still runs it, once its claim deadline has passed."""
    ids = await queue_health_checks(api, 3)
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert await client.xlen(stream_name(queue_settings)) == 3  # sent after the commit
        await client.delete(stream_name(queue_settings))
    finally:
        await client.aclose()
    async with worker_running(queue_settings, "late"):
        states = await wait_for_states(api, ids, timeout_s=30)
    steps, claims = await counts(api)
    assert set(states.values()) == {"succeeded"}
    assert steps == 3 * HEALTH_CHECK_STEPS and len(claims) == 3


async def test_without_redis_url_nothing_is_sent(settings: Settings, tmp_path: Path) -> None:
    conductor = await OpsConductor.open(settings.model_copy(update={"immediate_threshold_s": 0.5}))
    try:
        assert not conductor.dispatcher.live
        assert await conductor.executions.resend_unsent() == 0
    finally:
        await conductor.close()


async def test_a_message_for_a_running_execution_runs_nothing(
    api: OpsConductor, queue_settings: Settings
) -> None:
    """As when taskiq-redis redelivers a message whose first delivery still runs elsewhere:
    the execution is running under another worker's live lease, so the claim refuses it."""
    [execution_id] = await queue_health_checks(api, 1)
    async with api.db.session() as session:
        row = await session.get(ExecutionRow, execution_id)
        assert row is not None
        row.state, row.claimed_by, row.lease_epoch = "running", "elsewhere", row.lease_epoch + 1
        row.lease_expires_at = utcnow() + timedelta(seconds=60)
    async with worker_running(queue_settings, "w1"):
        await api.dispatcher.send(execution_id)
        await asyncio.sleep(1.5)
        result = await api.executions.result(execution_id)
    steps, claims = await counts(api)
    assert result.status == "running" and result.worker == "elsewhere"
    assert steps == 0 and claims == []
