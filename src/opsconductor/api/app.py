"""The HTTP API: `create_app(settings)` builds the application; its lifespan opens the
OpsConductor and, when the settings ask for it, runs the embedded background worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from opsconductor.api import deps, metrics
from opsconductor.api.errors import error_responses, install_error_handlers
from opsconductor.api.redaction import install_log_redaction
from opsconductor.api.refusals import RefusalGuard
from opsconductor.api.routes import (
    approvals,
    assets,
    audit,
    events,
    executions,
    feed,
    health,
    plans,
    requests,
    session,
    tickets,
    tools,
)
from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.queue.inprocess import Worker
from opsconductor.web import install_page

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
WORKER_POLL_S = 0.5
# How often counted refusals whose window has passed are written to the audit trail.
REFUSAL_FLUSH_S = 5.0


def create_app(settings: Settings, *, conductor: OpsConductor | None = None) -> FastAPI:
    """The application for `settings`. A given `conductor` is used as is and left open (its
    owner closes it); otherwise the lifespan opens one and closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = conductor or await OpsConductor.open(settings)
        app.state.conductor = opened
        install_log_redaction()  # again: the server may have configured logging since
        worker = EmbeddedWorker(opened) if settings.embedded_worker else None
        if worker is not None:
            worker.start()
        flusher = asyncio.create_task(_flush_refusals(app, opened), name="refusal-flusher")
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await deps.record_refusals(opened, app.state.refusals.due(final=True))
            if worker is not None:
                await worker.stop()
            if conductor is None:
                await opened.close()

    app = FastAPI(
        title="OpsConductor",
        version="1",
        summary="Ask for operations in plain words; review, approve and follow them.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.refusals = RefusalGuard()
    install_log_redaction()
    install_error_handlers(app)
    metrics.install_request_metrics(app)
    # Every router but health's needs a token: document the refusals on each of their routes,
    # and 400 for a body that cannot be parsed or an error no other status fits.
    refusals = {**error_responses(400, 401, 403), **deps.RATE_LIMITED_RESPONSE}
    api = APIRouter(prefix=API_PREFIX)
    routers = (requests, executions, plans, approvals, assets, tools, audit, events, feed, tickets)
    for module in (*routers, session):
        api.include_router(module.router, responses=refusals)
    app.include_router(api)
    app.include_router(metrics.router, responses=refusals)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(health.router, include_in_schema=False)  # where load balancers look
    install_page(app)
    return app


async def _flush_refusals(app: FastAPI, conductor: OpsConductor) -> None:
    """Write the aggregated records of refused credentials as their windows pass."""
    while True:
        await asyncio.sleep(REFUSAL_FLUSH_S)
        guard: RefusalGuard = app.state.refusals
        records = guard.due()
        for done, record in enumerate(records):
            try:
                await deps.record_refusals(conductor, [record])
            except Exception:
                # The store may be away for a moment: the counts wait for the next round.
                logger.exception("writing refused-credential records failed")
                guard.restore(records[done:])
                break


class EmbeddedWorker:
    """The in-process worker as a background task; on shutdown it drains (see
    :meth:`Worker.drain`): running steps get `shutdown_grace_s` to finish, then what is left
    is handed to the next live process through its lease."""

    def __init__(self, conductor: OpsConductor) -> None:
        self.worker = Worker(conductor.executions, name=f"api:{socket.gethostname()}:{os.getpid()}")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            self.worker.serve(poll_s=WORKER_POLL_S), name="opsconductor-worker"
        )

    async def stop(self) -> None:
        self.worker.stopping.set()
        if self._task is not None:
            await self._task
