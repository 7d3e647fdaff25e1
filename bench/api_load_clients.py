"""The client side of the API load run: concurrent clients, each an `httpx.AsyncClient` with one
keep-alive connection, asking inventory questions through POST /api/v1/requests for a fixed
window; every request is recorded with its latency and whether its answer is a success."""

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
    latency_s: float
    status: int | None  # None: no HTTP answer at all
    execution_id: str | None
    problem: str | None


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


def problem_with(response: httpx.Response, name: str) -> tuple[str | None, str | None]:
    """The execution id of an answer, and why it is not a success (None when it is): HTTP 200,
    an execution that succeeded, a message, naming the asset asked about."""
    if response.status_code != 200:
        return None, f"HTTP {response.status_code}: {response.text[:200]}"
    document = response.json()
    execution = document.get("execution") or {}
    message = (document.get("response") or {}).get("message") or ""
    execution_id = execution.get("id")
    if execution.get("status") != "succeeded":
        return execution_id, f"execution {execution.get('status')!r}: {message[:200]!r}"
    if not message.strip():
        return execution_id, "empty message"
    if name and name not in message:
        return execution_id, f"{name} not in the answer: {message[:200]!r}"
    return execution_id, None


async def client_loop(
    index: int,
    client: httpx.AsyncClient,
    names: Sequence[str],
    start: float,
    deadline: float,
    samples: list[Sample],
) -> None:
    """Ask, one request after another, until the deadline; the last request is let finish."""
    rng = random.Random(index)
    turn = index
    while time.perf_counter() < deadline:
        template = TEMPLATES[turn % len(TEMPLATES)]
        turn += 1
        name = rng.choice(names) if "{name}" in template else ""
        t0 = time.perf_counter()
        status: int | None = None
        try:
            response = await client.post(REQUESTS_PATH, json={"text": template.format(name=name)})
            status = response.status_code
            execution_id, problem = problem_with(response, name)
        except (httpx.HTTPError, ValueError) as exc:  # ValueError: a body that is not JSON
            execution_id, problem = None, f"{type(exc).__name__}: {exc}"
        latency = time.perf_counter() - t0
        samples.append(Sample(template, t0 - start, latency, status, execution_id, problem))


async def run_window(
    base_url: str,
    token: str,
    names: Sequence[str],
    *,
    clients: int,
    duration_s: float,
    server_cpu: Callable[[], float] = lambda: 0.0,
) -> Window:
    """`clients` concurrent clients asking for `duration_s` seconds."""
    window = Window(clients, duration_s)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    # trust_env=False: no proxy from the environment may sit between loopback and the server.
    sessions = [
        httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            limits=limits,
            timeout=REQUEST_TIMEOUT_S,
            trust_env=False,
        )
        for _ in range(clients)
    ]
    try:
        cpu0, server0, (busy0, all0) = time.process_time(), server_cpu(), machine_cpu()
        start = time.perf_counter()
        deadline = start + duration_s
        await asyncio.gather(
            *(
                client_loop(i, session, names, start, deadline, window.samples)
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
