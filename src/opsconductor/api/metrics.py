"""Prometheus metrics (text format 0.0.4) at `GET /api/v1/metrics`.

The store's numbers are counted at scrape time, so every replica reports the same truth:
executions by status, pending approvals, and step durations. HTTP requests are counted in
process by the middleware that :func:`install_request_metrics` adds."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import ColumnElement, case, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsconductor.api.deps import ConductorDep, Reader
from opsconductor.execution.approvals import ApprovalStatus
from opsconductor.execution.states import ExecutionState
from opsconductor.store.tables import ApprovalRow, ExecutionRow, StepRunRow

router = APIRouter(prefix="/api/v1", tags=["metrics"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STEP_DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# Methods outside this set are counted as OTHER: a label must not take any value a client sends.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"

Labels = tuple[tuple[str, str], ...]


@dataclass
class MetricFamily:
    """One metric's HELP and TYPE lines and its samples (name suffix, labels, value)."""

    name: str
    kind: str
    help: str
    samples: list[tuple[str, Labels, float]] = field(default_factory=list)

    def add(self, value: float, labels: Labels = (), suffix: str = "") -> None:
        self.samples.append((suffix, labels, value))


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[MetricFamily]) -> str:
    """The Prometheus text exposition of `families`."""
    lines: list[str] = []
    for family in families:
        help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"# HELP {family.name} {help_text}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            label_text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)
            label_part = f"{{{label_text}}}" if labels else ""
            lines.append(f"{family.name}{suffix}{label_part} {format_value(value)}")
    return "\n".join(lines) + "\n"


class RequestCounter:
    """HTTP requests answered by this process, by method, route template and status."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def count(self, method: str, route: str, status: int) -> None:
        method = method.upper() if method.upper() in KNOWN_METHODS else "OTHER"
        self.counts[(method, route, str(status))] += 1

    def family(self) -> MetricFamily:
        family = MetricFamily(
            "opsconductor_http_requests_total",
            "counter",
            "HTTP requests answered by this process.",
        )
        for (method, route, status), value in sorted(self.counts.items()):
            family.add(value, (("method", method), ("route", route), ("status", status)))
        return family


class RequestMetricsMiddleware:
    """Counts each HTTP request once its response has started (or failed without one)."""

    def __init__(self, app: ASGIApp, counter: RequestCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers when the app raises before responding

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.counter.count(scope["method"], _route_template(scope), status)


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/executions/{execution_id}`), never the raw
    path: ids in paths would make a new series per execution."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED_ROUTE
    # A route matched inside an included router may carry its template without the router's
    # prefix: take the prefix back from the raw path (each placeholder is one path segment).
    raw = str(scope.get("path", "")).strip("/").split("/")
    extra = len(raw) - len(path.strip("/").split("/"))
    return "/" + "/".join(raw[:extra]) + path if extra > 0 else path


def install_request_metrics(app: FastAPI) -> RequestCounter:
    """Count `app`'s HTTP requests for `opsconductor_http_requests_total`; call once, before
    the app starts."""
    counter = RequestCounter()
    app.state.request_metrics = counter
    app.add_middleware(RequestMetricsMiddleware, counter=counter)
    return counter


async def execution_family(session: AsyncSession) -> MetricFamily:
    rows = await session.execute(
        select(ExecutionRow.state, func.count()).group_by(ExecutionRow.state)
    )
    counts: dict[str, int] = {state.value: 0 for state in ExecutionState}
    counts.update({state: int(n) for state, n in rows})
    family = MetricFamily("opsconductor_executions", "gauge", "Executions, by status.")
    for state, n in sorted(counts.items()):
        family.add(n, (("status", state),))
    return family


async def pending_approvals_family(session: AsyncSession) -> MetricFamily:
    pending = await session.scalar(
        select(func.count())
        .select_from(ApprovalRow)
        .where(ApprovalRow.status == ApprovalStatus.PENDING.value)
    )
    family = MetricFamily(
        "opsconductor_approvals_pending", "gauge", "Approval requests waiting for a decision."
    )
    family.add(int(pending or 0))
    return family


def _duration_seconds(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":  # datetimes are text there; julianday reads them to the millisecond
        days = func.julianday(StepRunRow.completed_at) - func.julianday(StepRunRow.started_at)
        return days * 86400.0
    return extract("epoch", StepRunRow.completed_at - StepRunRow.started_at)


async def step_duration_family(session: AsyncSession) -> MetricFamily:
    """A histogram per tool over finished step runs, bucketed by the database."""
    duration = _duration_seconds(session.get_bind().dialect.name)
    buckets = [func.sum(case((duration <= bound, 1), else_=0)) for bound in STEP_DURATION_BUCKETS]
    query = (
        select(StepRunRow.tool, func.count(), func.sum(duration), *buckets)
        .where(StepRunRow.started_at.is_not(None), StepRunRow.completed_at.is_not(None))
        .group_by(StepRunRow.tool)
        .order_by(StepRunRow.tool)
    )
    family = MetricFamily(
        "opsconductor_step_duration_seconds",
        "histogram",
        "How long finished step runs took, per tool (one run per step and target).",
    )
    for tool, count, total, *cumulative in await session.execute(query):
        for bound, n in zip(STEP_DURATION_BUCKETS, cumulative, strict=True):
            family.add(int(n or 0), (("tool", tool), ("le", repr(bound))), "_bucket")
        family.add(int(count), (("tool", tool), ("le", "+Inf")), "_bucket")
        family.add(float(total or 0.0), (("tool", tool),), "_sum")
        family.add(int(count), (("tool", tool),), "_count")
    return family


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, conductor: ConductorDep, _reader: Reader) -> Response:
    """Prometheus metrics: executions by status, pending approvals, step durations, requests."""
    async with conductor.db.session() as session:
        families = [
            await execution_family(session),
            await pending_approvals_family(session),
            await step_duration_family(session),
        ]
    counter = getattr(request.app.state, "request_metrics", None)
    if isinstance(counter, RequestCounter):
        families.append(counter.family())
    return Response(render(families), media_type=CONTENT_TYPE)
