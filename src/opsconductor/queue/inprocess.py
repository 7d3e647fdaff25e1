"""The embedded worker: polls the store for queued executions and runs them in this process,
and sweeps for what nobody else will finish (expired approvals, expired leases).

The database is the queue; claiming is a compare-and-set, so several workers are safe. Every
live worker takes over the executions of a worker that stopped renewing its lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from opsconductor.execution.service import ExecutionService

logger = logging.getLogger(__name__)


class Worker:
    def __init__(self, executions: ExecutionService, *, name: str) -> None:
        self.executions = executions
        self.name = name
        self.stopping = asyncio.Event()

    async def run_queued(self) -> int:
        """Run every execution queued now (until asked to stop); returns how many it ran."""
        ran = 0
        for execution_id in await self.executions.queued():
            if self.stopping.is_set():
                break
            result = await self.executions.try_run(execution_id, worker=self.name)
            if result is None:
                continue  # another worker claimed it first
            logger.info("execution %s ended %s", execution_id, result.status)
            ran += 1
        return ran

    async def sweep(self) -> None:
        """Expire approvals past their time; take over executions whose lease ran out; queue
        approved ones nobody started; with Redis, send again what was queued but never claimed
        (its message was lost)."""
        expired = await self.executions.expire_due()
        if expired:
            logger.info("expired %d approvals", expired)
        await self.executions.take_over_expired(self.name)
        await self.executions.queue_unclaimed(self.name)
        resent = await self.executions.resend_unsent()
        if resent:
            logger.warning("sent %d queued executions to the workers again", resent)

    async def serve(
        self, *, once: bool = False, poll_s: float = 1.0, handle_signals: bool = False
    ) -> None:
        """Poll until stopped. With `handle_signals` (a worker process of its own), SIGTERM and
        SIGINT stop it gracefully: see :meth:`drain`."""
        if once:
            await self.sweep()
            await self.run_queued()
            return
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stopping.set)
        sweeper = asyncio.create_task(self.sweep_forever(poll_s))
        runs = asyncio.create_task(self._run_forever(poll_s))
        try:
            await self.stopping.wait()
            await self.drain(self.executions.settings.shutdown_grace_s, runs)
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def drain(self, grace_s: float, runs: asyncio.Task[None]) -> None:
        """Take no new work; let running steps (queued work, and runs started by requests in
        this process) finish for up to `grace_s`; then give up what is left: its leases are
        released (so a live process takes them over at once, and an in-flight change becomes
        `interrupted`) and its commands on the hosts are stopped."""
        self.stopping.set()
        runner = self.executions.runner
        deadline = asyncio.get_running_loop().time() + grace_s
        while (runner.active or not runs.done()) and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait({runs}, timeout=0.1)
        for execution_id, active in list(runner.active.items()):
            logger.warning("shutting down: handing %s over to the next worker", execution_id)
            with contextlib.suppress(Exception):
                await active.lease.release(self.executions.db)
            runner.stop_locally(execution_id)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(runs, 10.0)

    async def _run_forever(self, poll_s: float) -> None:
        while not self.stopping.is_set():
            try:
                await self.run_queued()
            except Exception:
                # One bad poll (a database hiccup) must not stop background work for good.
                logger.exception("worker poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), poll_s)

    async def sweep_forever(self, poll_s: float) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                logger.exception("worker sweep failed")
            await asyncio.sleep(poll_s)
