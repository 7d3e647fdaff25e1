"""The client side of the API load run: concurrent clients, each an `httpx.AsyncClient` with one
keep-alive connection, asking inventory questions through POST /api/v1/requests for a fixed
window; every request is recorded with its latency and whether its answer is a success.

Clients are spread over one or more servers (replicas of one store) in turn. An answer that
comes back `queued` (the plan went to the background workers) is waited for as a client of the
API must: its event stream is followed to `complete`, then its result is read; the latency is
the whole wait. With `dry_run` the requests are planned and previewed only: a success is then
an answer without an execution."""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from pipeline import percentile

# The mix, asked in turn by each client (each starting at its own place in it); `{name}` is a
# server drawn at random from the inventory for each request.
TEMPLATES = (
    "How many assets do we have?",
    "How many production linux servers do we have?",
    "List all staging windows workstations",
    "Show server details for {name}",
    "What's the IP of {name}?",
    "How many servers are tagged web?",
)
REQUEST_TIMEOUT_S = 120.0  # generous: a slow answer is measured, not turned into an error
REQUESTS_PATH = "/api/v1/requests"
EXECUTIONS_PATH = "/api/v1/executions"
# The route label is the route's template; under FastAPI 0.165 it lacks the router's prefix.
METRIC = re.compile(
    r'^opsconductor_http_requests_total\{method="POST",route="(?:/api/v1)?/requests",'
    r'status="(\d+)"\} (\d+)$',
    re.MULTILINE,
)


@dataclass(frozen=True)
class Sample:
    """One request: when it started (seconds into the window), how long it took, what came
    back, and why it does not count as a success (None when it does)."""

    template: str
    started_s: float
    latency_s: float  # to the answer, or for a queued execution to its result
    status: int | None  # None: no HTTP answer at all
    execution_id: str | None
    problem: str | None
    server: int = 0  # which of the window's servers was asked
    posted_s: float | None = None  # the POST's own answer, when a queued execution followed


@dataclass
class Window:
    """All requests of one timed window."""

    clients: int
    duration_s: float
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0  # from the first request to the last answer (the window plus its tail)
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    machine_busy_s: float = 0.0  # CPU seconds all processes used, over all cores
    machine_cores_s: float = 0.0  # CPU seconds the cores had, busy or idle

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.problem is None]

    @property
    def failures(self) -> list[Sample]:
        return [s for s in self.samples if s.problem is not None]

    @property
    def answered(self) -> int:
        return sum(s.status is not None for s in self.samples)

    def latency(self, q: float, template: str | None = None) -> float:
        """The q-th percentile latency of the successful requests (of one template)."""
        values = [s.latency_s for s in self.ok if template is None or s.template == template]
        return percentile(sorted(values), q)

    @property
    def per_second(self) -> float:
        return len(self.ok) / self.wall_s if self.wall_s else 0.0

    @property
    def machine_busy(self) -> float:
        """The share of all cores busy during the window, whoever used them."""
        return self.machine_busy_s / self.machine_cores_s if self.machine_cores_s else 0.0

    @property
    def other_cpu_s(self) -> float:
        """CPU seconds neither the server nor the load generator used (the database server's
        processes, and anything else running)."""
        return max(self.machine_busy_s - self.server_cpu_s - self.client_cpu_s, 0.0)

    @property
    def queued(self) -> list[Sample]:
        """Requests answered `queued` and then waited for."""
        return [s for s in self.samples if s.posted_s is not None]

    def posted(self, q: float) -> float:
        """The q-th percentile of the POST's own answer, for the queued requests that
        succeeded (how long a client waits to hear `queued`)."""
        values = [s.posted_s for s in self.ok if s.posted_s is not None]
        return percentile(sorted(values), q)

    @property
    def execution_ids(self) -> frozenset[str]:
        return frozenset(s.execution_id for s in self.ok if s.execution_id)


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the machine has spent busy, and in all, since boot (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    total = sum(ticks[:8])  # user … steal; guest time is already counted in user
    hz = os.sysconf("SC_CLK_TCK")
    return (total - idle) / hz, total / hz


def problem_with(
    response: httpx.Response, name: str, *, dry_run: bool = False
) -> tuple[str | None, str | None]:
    """The execution id of an answer, and why it is not a success (None when it is): HTTP 200,
    an execution that succeeded (none at all for a dry run), a message, naming the asset
    asked about. An execution still `queued` is not judged here (see `follow`)."""
    if response.status_code != 200:
        return None, f"HTTP {response.status_code}: {response.text[:200]}"
    document = response.json()
    execution = document.get("execution") or {}
    message = (document.get("response") or {}).get("message") or ""
    execution_id = execution.get("id")
    if dry_run:
        if execution_id is not None:
            return execution_id, "a dry run was recorded as an execution"
        if document.get("plan") is None:
            return None, f"no plan: {message[:200]!r}"
    elif execution.get("status") == "queued":
        return execution_id, None
    elif execution.get("status") != "succeeded":
        return execution_id, f"execution {execution.get('status')!r}: {message[:200]!r}"
    return execution_id, _message_problem(message, name)


def _message_problem(message: str, name: str) -> str | None:
    if not message.strip():
        return "empty message"
    if name and name not in message:
        return f"{name} not in the answer: {message[:200]!r}"
    return None


async def follow(client: httpx.AsyncClient, execution_id: str, name: str) -> str | None:
    """Wait for a queued execution as a client of the API does: its event stream up to
    `complete` (the stream ends there), then its result; why it is not a success, or None."""
    path = f"{EXECUTIONS_PATH}/{execution_id}"
    async with client.stream("GET", f"{path}/events") as stream:
        if stream.status_code != 200:
            return f"events: HTTP {stream.status_code}"
        async for line in stream.aiter_lines():
            if line == "event: complete":
                break
    response = await client.get(path)
    if response.status_code != 200:
        return f"result: HTTP {response.status_code}: {response.text[:200]}"
    result = response.json()
    if result.get("status") != "succeeded":
        return f"execution {result.get('status')!r}: {result.get('error_message')!r}"
    return _message_problem(result.get("output") or "", name)


async def ask_once(
    client: httpx.AsyncClient, text: str, name: str, dry_run: bool
) -> tuple[int | None, str | None, str | None, float | None]:
    """One request and, when it was queued, the wait for its result: the POST's status, the
    execution id, why it is not a success, and how long the POST alone took when it was
    queued (None otherwise)."""
    body: dict[str, object] = {"text": text}
    if dry_run:
        body["dry_run"] = True
    t0 = time.perf_counter()
    status: int | None = None
    execution_id: str | None = None
    try:
        response = await client.post(REQUESTS_PATH, json=body)
        status = response.status_code
        execution_id, problem = problem_with(response, name, dry_run=dry_run)
        queued = status == 200 and (response.json().get("execution") or {}).get("status")
        if problem is None and queued == "queued" and execution_id:
            posted_s = time.perf_counter() - t0
            return status, execution_id, await follow(client, execution_id, name), posted_s
    except (httpx.HTTPError, ValueError) as exc:  # ValueError: a body that is not JSON
        problem = f"{type(exc).__name__}: {exc}"
    return status, execution_id, problem, None


async def client_loop(
    index: int,
    client: httpx.AsyncClient,
    server: int,
    names: Sequence[str],
    start: float,
    deadline: float,
    samples: list[Sample],
    dry_run: bool = False,
) -> None:
    """Ask, one request after another, until the deadline; the last request is let finish."""
    rng = random.Random(index)
    turn = index
    while time.perf_counter() < deadline:
        template = TEMPLATES[turn % len(TEMPLATES)]
        turn += 1
        name = rng.choice(names) if "{name}" in template else ""
        t0 = time.perf_counter()
        status, execution_id, problem, posted_s = await ask_once(
            client, template.format(name=name), name, dry_run
        )
        latency = time.perf_counter() - t0
        samples.append(
            Sample(template, t0 - start, latency, status, execution_id, problem, server, posted_s)
        )


async def run_window(
    base_url: str | Sequence[str],
    token: str,
    names: Sequence[str],
    *,
    clients: int,
    duration_s: float,
    dry_run: bool = False,
    server_cpu: Callable[[], float] = lambda: 0.0,
) -> Window:
    """`clients` concurrent clients asking for `duration_s` seconds, client i of the servers
    at `base_url` asking server i modulo their number."""
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    window = Window(clients, duration_s)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    # trust_env=False: no proxy from the environment may sit between loopback and the server.
    sessions = [
        httpx.AsyncClient(
            base_url=urls[i % len(urls)],
            headers=headers,
            limits=limits,
            timeout=REQUEST_TIMEOUT_S,
            trust_env=False,
        )
        for i in range(clients)
    ]
    try:
        cpu0, server0, (busy0, all0) = time.process_time(), server_cpu(), machine_cpu()
        start = time.perf_counter()
        deadline = start + duration_s
        await asyncio.gather(
            *(
                client_loop(
                    i, session, i % len(urls), names, start, deadline, window.samples, dry_run
                )
                for i, session in enumerate(sessions)
            )
        )
        window.wall_s = time.perf_counter() - start
        window.client_cpu_s = time.process_time() - cpu0
        window.server_cpu_s = server_cpu() - server0
        busy1, all1 = machine_cpu()
        window.machine_busy_s, window.machine_cores_s = busy1 - busy0, all1 - all0
    finally:
        await asyncio.gather(*(session.aclose() for session in sessions))
    return window


async def served(base_url: str, token: str) -> dict[int, int]:
    """POST /api/v1/requests answers the server has counted so far, by status (its own
    Prometheus counter)."""
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30.0) as client:
        response = await client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
    return {int(status): int(n) for status, n in METRIC.findall(response.text)}


async def inventory_size(base_url: str, token: str) -> int:
    """How many assets the server's inventory holds."""
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30.0) as client:
        response = await client.get(
            "/api/v1/assets", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
    return int(response.json()["count"])
