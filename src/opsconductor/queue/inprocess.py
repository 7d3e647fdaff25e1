"""The embedded worker: polls the store for queued executions and runs them in this process.
The database is the queue; claiming is a compare-and-set, so several workers are safe."""

from __future__ import annotations

import asyncio
import logging

from opsconductor.execution.service import ExecutionService

logger = logging.getLogger(__name__)


class Worker:
    def __init__(self, executions: ExecutionService, *, name: str) -> None:
        self.executions = executions
        self.name = name

    async def run_queued(self) -> int:
        """Run every execution queued now; returns how many this worker ran."""
        ran = 0
        for execution_id in await self.executions.queued():
            result = await self.executions.try_run(execution_id, worker=self.name)
            if result is None:
                continue  # another worker claimed it first
            logger.info("execution %s ended %s", execution_id, result.status)
            ran += 1
        return ran

    async def serve(self, *, once: bool = False, poll_s: float = 1.0) -> None:
        while True:
            expired = await self.executions.expire_due()
            if expired:
                logger.info("expired %d approvals", expired)
            await self.run_queued()
            if once:
                return
            await asyncio.sleep(poll_s)
