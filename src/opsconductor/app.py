"""The composition root: one object per process that opens settings, store, catalog,
connectors, brain, event bus and notifier, and wires the pipeline and the execution service
from them. Faces (CLI, API, worker) open one, call its services and close it."""

from __future__ import annotations

from opsconductor.brain.base import Brain
from opsconductor.brain.rules import RulesBrain
from opsconductor.catalog.loader import Catalog, load_catalog
from opsconductor.config import Settings
from opsconductor.connectors.registry import ConnectorRegistry
from opsconductor.connectors.wiring import connector_registry
from opsconductor.execution import endpoints
from opsconductor.execution.dispatch import Dispatcher, PollingDispatch
from opsconductor.execution.events import EventBus, InProcessEventBus
from opsconductor.execution.hostguard import HostGuard
from opsconductor.execution.service import ExecutionService
from opsconductor.notifications.webhook import WebhookNotifier
from opsconductor.pipeline.pipeline import Pipeline
from opsconductor.store.database import Database


class OpsConductor:
    """The parts of one process. `pipeline` answers requests (stages A to E); `executions`
    decides, runs and reports executions (stage E's service)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        catalog: Catalog,
        brain: Brain,
        events: EventBus,
        connectors: ConnectorRegistry,
        notifier: WebhookNotifier | None = None,
        dispatcher: Dispatcher | None = None,
        hosts: HostGuard | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.brain = brain
        self.events = events
        self.notifier = notifier
        self.dispatcher = dispatcher or PollingDispatch()
        self.executions = ExecutionService(
            db,
            catalog,
            connectors,
            events,
            settings,
            endpoints.known_host_keys(settings.known_hosts_file),
            self.dispatcher,
            hosts,
        )
        self.pipeline = Pipeline(settings, db, catalog, brain, self.executions, notifier)

    @classmethod
    async def open(cls, settings: Settings, events: EventBus | None = None) -> OpsConductor:
        catalog = load_catalog(settings.catalog_dirs)
        db = await Database.connect(settings)
        return cls(
            settings,
            db,
            catalog,
            _brain(settings, catalog),
            events or _event_bus(settings),
            connector_registry(settings, db),
            WebhookNotifier.from_settings(settings, db),
            _dispatcher(settings),
            _host_guard(settings),
        )

    async def close(self) -> None:
        closing = getattr(self.brain, "aclose", None)  # the LLM brain's HTTP client
        if closing is not None:
            await closing()
        if self.notifier is not None:
            await self.notifier.aclose()  # notices in flight still need the store to audit
        for part in (self.events, self.executions.runner.hosts):  # their Redis connections
            closing = getattr(part, "aclose", None)
            if closing is not None:
                await closing()
        await self.dispatcher.close()
        await self.db.close()


def _event_bus(settings: Settings) -> EventBus:
    """Live events within this process, or, with Redis, across every process of the fleet."""
    if settings.redis_url is None:
        return InProcessEventBus()
    from opsconductor.queue.redis_events import RedisEventBus

    return RedisEventBus(settings)


def _host_guard(settings: Settings) -> HostGuard | None:
    """With Redis, one change at a time on a host across the fleet; else within a run."""
    if settings.redis_url is None:
        return None
    from opsconductor.queue.redis_hosts import RedisHostGuard

    return RedisHostGuard(settings)


def _dispatcher(settings: Settings) -> Dispatcher:
    """With OPSCONDUCTOR_REDIS_URL, runnable executions are announced to the workers through
    Redis (its module, and taskiq's, imported only then); else workers poll the store."""
    if settings.redis_url is None:
        return PollingDispatch()
    from opsconductor.queue.redis import RedisDispatch

    return RedisDispatch(settings)


def _brain(settings: Settings, catalog: Catalog) -> Brain:
    """The brain the settings choose; the LLM brain's module is imported only when chosen."""
    rules = RulesBrain(catalog)
    if settings.brain != "llm":
        return rules
    from opsconductor.brain.llm.brain import llm_brain_from_settings

    return llm_brain_from_settings(settings, catalog, rules)
