"""Prometheus metrics (text format 0.0.4) at `GET /api/v1/metrics`.

The store's numbers are counted at scrape time, so every replica reports the same truth:
executions by status, pending approvals, and step durations. HTTP requests are counted in
process by the middleware that :func:`install_request_metrics` adds."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsconductor.api.deps import ConductorDep, Reader
from opsconductor.execution.metrics_queries import (
    StepDurations,
    executions_by_state,
    pending_approvals,
    step_durations,
)

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


def execution_family(counts: dict[str, int]) -> MetricFamily:
    family = MetricFamily("opsconductor_executions", "gauge", "Executions, by status.")
    for state, n in sorted(counts.items()):
        family.add(n, (("status", state),))
    return family


def pending_approvals_family(pending: int) -> MetricFamily:
    family = MetricFamily(
        "opsconductor_approvals_pending", "gauge", "Approval requests waiting for a decision."
    )
    family.add(pending)
    return family


def step_duration_family(tools: list[StepDurations]) -> MetricFamily:
    """A histogram per tool over finished step runs."""
    family = MetricFamily(
        "opsconductor_step_duration_seconds",
        "histogram",
        "How long finished step runs took, per tool (one run per step and target).",
    )
    for tool in tools:
        labels = (("tool", tool.tool),)
        for bound, n in zip(STEP_DURATION_BUCKETS, tool.at_most, strict=True):
            family.add(n, (*labels, ("le", repr(bound))), "_bucket")
        family.add(tool.count, (*labels, ("le", "+Inf")), "_bucket")
        family.add(tool.total_seconds, labels, "_sum")
        family.add(tool.count, labels, "_count")
    return family


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, conductor: ConductorDep, _reader: Reader) -> Response:
    """Prometheus metrics: executions by status, pending approvals, step durations, requests."""
    async with conductor.db.reader() as session:
        families = [
            execution_family(await executions_by_state(session)),
            pending_approvals_family(await pending_approvals(session)),
            step_duration_family(await step_durations(session, STEP_DURATION_BUCKETS)),
        ]
    counter = getattr(request.app.state, "request_metrics", None)
    if isinstance(counter, RequestCounter):
        families.append(counter.family())
    return Response(render(families), media_type=CONTENT_TYPE)
