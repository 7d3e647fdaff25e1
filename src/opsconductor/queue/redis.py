"""Background executions through Redis, with taskiq: the API (or any process that queues work)
sends each runnable execution's id to a Redis stream after its commit; `opsconductor worker`
processes on any machine read the stream through a consumer group with taskiq's receiver and
run what they receive.

The store stays the truth and the leases decide recovery, not the broker: a message carries an
execution id only; running it starts with the claim's compare-and-set, so a message that is
duplicated, redelivered (taskiq-redis reclaims messages idle too long, even while they still
run) or stale runs nothing twice; a lost one (a crash between commit and send, a Redis restart:
the machine's Redis keeps nothing on disk) is sent again by the sweeper once its claim deadline
passes. Imported only when OPSCONDUCTOR_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskiq import AckableMessage, AsyncBroker
from taskiq.acks import AcknowledgeType
from taskiq.kicker import AsyncKicker
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from opsconductor.config import Settings
from opsconductor.errors import QueueUnavailable
from opsconductor.queue.inprocess import Worker

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor

logger = logging.getLogger(__name__)

RUN_TASK = "opsconductor.run_execution"
# After Redis went away: how long the receiver waits before it reads (and declares its consumer
# group: a restarted Redis has none) again.
RECONNECT_S = 1.0
# A message delivered but not acknowledged this long is handed to another worker by taskiq-redis:
# harmless (the claim refuses it while the first still runs), so only a backstop; the leases
# and the sweeper are what recover a stopped worker's work.
REDELIVER_AFTER_MS = 5 * 60 * 1000
STREAM_MAXLEN = 100_000  # trimmed, not lost: what was cut is queued in the store and resent


def stream_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}:executions"


def group_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}:workers"


def redacted_url(settings: Settings) -> str:
    """The Redis URL for messages: without its password."""
    parts = urlsplit(redis_url(settings))
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redis_url(settings: Settings) -> str:
    if settings.redis_url is None:
        raise ValueError("OPSCONDUCTOR_REDIS_URL is not set")
    return settings.redis_url.get_secret_value()


class _ReconnectingStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, whose listening outlives Redis going away: it waits, then
    declares its consumer group again (a restarted Redis has none) and reads on. Without this
    the receiver stops at the first connection error."""

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        ack = super()._ack_generator(id, queue_name)

        async def ack_or_warn() -> None:
            # A run that ended while Redis was away: its message went with Redis, nothing to
            # acknowledge, and the run is recorded in the store either way.
            try:
                await ack()
            except (RedisError, OSError) as exc:
                logger.warning("could not acknowledge message %s: %s", id, exc)

        return ack_or_warn

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            try:
                async for message in super().listen():
                    yield message
            except (RedisError, OSError) as exc:
                reading = asyncio.current_task()
                if reading is not None and reading.cancelling():
                    # The receiver stopping: redis-py reports a read cancelled mid-way as a
                    # closed connection, and swallowing that would never let the worker stop.
                    raise asyncio.CancelledError from exc
                logger.warning("Redis: %s; reading the stream again in %.0fs", exc, RECONNECT_S)
                await asyncio.sleep(RECONNECT_S)
                with contextlib.suppress(RedisError, OSError):
                    await self._declare_consumer_group()
                    # What Redis delivered to this consumer just before the connection broke
                    # may never have reached it: read its own unacknowledged messages again
                    # (one still running here is refused by the claim when it comes again).
                    for message in await self._own_pending():
                        yield message

    async def _own_pending(self) -> list[AckableMessage]:
        async with Redis(connection_pool=self.connection_pool) as connection:
            fetched: Any = await connection.xreadgroup(
                self.consumer_group_name,
                self.consumer_name,
                {self.queue_name: "0"},
                count=self.unacknowledged_batch_size,
            )
        return [
            AckableMessage(data=fields[b"data"], ack=self._ack_generator(message_id, stream))
            for stream, messages in fetched or []
            for message_id, fields in messages
            if fields  # a message trimmed from the stream since: nothing to deliver
        ]


def make_broker(
    settings: Settings, consumer: str | None = None, batch: int = 1
) -> RedisStreamBroker:
    """The broker on this installation's stream. The group is declared reading from the
    stream's start ("0"), so that a group declared after a Redis restart still gets what was
    sent in between. A worker reads `batch` messages at a time (its concurrency): what it read
    is its own until acknowledged, so reading more would hold work back from idle workers."""
    return _ReconnectingStreamBroker(
        redis_url(settings),
        queue_name=stream_name(settings),
        consumer_group_name=group_name(settings),
        consumer_name=consumer,
        consumer_id="0",
        xread_block=1000,
        xread_count=batch,
        maxlen=STREAM_MAXLEN,
        idle_timeout=REDELIVER_AFTER_MS,
        unacknowledged_lock_timeout=10,
        socket_connect_timeout=5,
        socket_timeout=10,  # above xread_block: a blocked read is not a dead connection
    )


class RedisDispatch:
    """Sends runnable executions' ids to the workers' stream (see
    :class:`opsconductor.execution.dispatch.Dispatcher`)."""

    live = True

    def __init__(self, settings: Settings) -> None:
        self.broker = make_broker(settings)
        self._kicker: AsyncKicker[[str], None] = AsyncKicker(RUN_TASK, self.broker, labels={})

    async def send(self, execution_id: str) -> None:
        await self._kicker.kiq(execution_id)

    async def close(self) -> None:
        await self.broker.shutdown()


def register_run_task(broker: AsyncBroker, conductor: OpsConductor, worker: str) -> None:
    """The one task: claim the execution and run it. Not claimable (another worker has it, it
    already ran, it was cancelled) is a normal end: the message was a duplicate or stale."""

    async def run_execution(execution_id: str) -> None:
        result = await conductor.executions.try_run(execution_id, worker=worker)
        if result is None:
            logger.info("execution %s: nothing to run (claimed elsewhere or done)", execution_id)
        else:
            logger.info("execution %s ended %s", execution_id, result.status)

    broker.register_task(run_execution, task_name=RUN_TASK)


class RedisWorker:
    """`opsconductor worker` with Redis: taskiq's receiver runs up to `concurrency` executions
    at once as their messages arrive; beside it the sweeper (expiries, takeovers of expired
    leases, resending lost messages), and each run's lease keeper (the Runner's). SIGTERM and
    SIGINT drain it like the polling worker (:meth:`Worker.drain`)."""

    def __init__(self, conductor: OpsConductor, *, name: str, concurrency: int) -> None:
        self.conductor = conductor
        self.name = name
        self.concurrency = concurrency
        self.sweeper = Worker(conductor.executions, name=name)

    async def serve(self, *, poll_s: float = 1.0, handle_signals: bool = True) -> None:
        settings = self.conductor.settings
        broker = make_broker(settings, consumer=self.name, batch=self.concurrency)
        broker.is_worker_process = True
        register_run_task(broker, self.conductor, self.name)
        try:
            await broker.startup()  # declares the consumer group
        except (RedisError, OSError) as exc:
            await broker.shutdown()
            raise QueueUnavailable(f"cannot reach Redis ({redacted_url(settings)}): {exc}") from exc
        receiver = Receiver(
            broker,
            max_async_tasks=self.concurrency,
            ack_type=AcknowledgeType.WHEN_EXECUTED,
            propagate_exceptions=False,
            run_startup=False,
        )
        stopping = self.sweeper.stopping
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stopping.set)
        finish = asyncio.Event()
        listening = asyncio.create_task(receiver.listen(finish), name="taskiq-receiver")
        sweeping = asyncio.create_task(self.sweeper.sweep_forever(poll_s), name="sweeper")
        logger.info(
            "worker %s reads %s (group %s), %d at a time",
            self.name,
            stream_name(settings),
            group_name(settings),
            self.concurrency,
        )
        try:
            stopped = asyncio.create_task(stopping.wait())
            await asyncio.wait({stopped, listening}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            finish.set()
            await self.sweeper.drain(settings.shutdown_grace_s, listening)
            if listening.done() and not listening.cancelled() and listening.exception():
                failure = listening.exception()
                raise QueueUnavailable(f"the taskiq receiver stopped: {failure}") from failure
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
            with contextlib.suppress(RedisError, OSError):
                await broker.shutdown()
