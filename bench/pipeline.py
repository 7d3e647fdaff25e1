"""The in-process half of the benchmark: a deterministic 10,000-asset inventory, and timed
requests through `OpsConductor.ask` (stages A to E) and `OpsConductor.plan` (stages A to D)."""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsconductor.app import OpsConductor
from opsconductor.config import Settings, load_settings
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset
from opsconductor.pipeline.answer import Answer

QUESTIONS = (
    "How many assets do we have?",
    "How many production linux servers do we have?",
    "List all staging windows workstations",
    "Show server details for web-prod-0042",
    "What's the IP of db-staging-0042?",
    "How many servers are tagged web?",
)

ENVIRONMENTS = {"production": ("prod", 10), "staging": ("staging", 20), "development": ("dev", 30)}
ENV_WEIGHTS = (0.55, 0.25, 0.20)
# role -> (os choices with weights, extra tags a host of that role may carry)
SERVER_ROLES: dict[str, tuple[tuple[tuple[str, str, float], ...], tuple[str, ...]]] = {
    "web": ((("linux", "Ubuntu 22.04", 0.7), ("windows", "Windows Server 2022", 0.3)), ("nginx",)),
    "app": ((("linux", "RHEL 9.3", 0.6), ("windows", "Windows Server 2019", 0.4)), ("java",)),
    "db": ((("linux", "RHEL 8.9", 0.7), ("windows", "Windows Server 2022", 0.3)), ("postgres",)),
    "cache": ((("linux", "Debian 12", 1.0),), ("redis",)),
    "mq": ((("linux", "Ubuntu 20.04", 1.0),), ("rabbitmq",)),
    "dc": ((("windows", "Windows Server 2022", 1.0),), ("ad",)),
    "batch": ((("linux", "Rocky Linux 9", 0.8), ("unix", "AIX 7.3", 0.2)), ("cron",)),
}
DEPARTMENTS = ("finance", "hr", "eng", "sales", "support", "legal", "marketing", "ops")
WORKSTATION_OS = (
    ("windows", "Windows 11 23H2", 0.7),
    ("macos", "macOS 14", 0.2),
    ("linux", "Ubuntu 24.04", 0.1),
)
NETWORK_KINDS = (("sw", "switch"), ("rtr", "router"), ("fw", "firewall"))
EXTRA_TAGS = ("monitored", "backup", "pci", "legacy", "patch-group-a", "patch-group-b")
OWNERS = ("platform", "dba", "netops", "it-desk", "secops", "payments", "search")
# kind of asset -> share of the inventory
KIND_WEIGHTS = (("server", 0.50), ("workstation", 0.38), ("network", 0.08), ("storage", 0.04))


def _pick(rng: random.Random, choices: Sequence[tuple[str, str, float]]) -> tuple[str, str]:
    os_type, version, _ = rng.choices(choices, weights=[c[2] for c in choices])[0]
    return os_type, version


class _Namer:
    """Hands out `prefix-0001`, `prefix-0002`, … and one unique address per subnet."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.hosts: dict[int, int] = {}

    def name(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]:04d}"

    def ip(self, second_octet: int) -> str:
        n = self.hosts[second_octet] = self.hosts.get(second_octet, 0) + 1
        return f"10.{second_octet}.{n // 250}.{n % 250 + 4}"


def _server(rng: random.Random, namer: _Namer, env: str) -> Asset:
    short, octet = ENVIRONMENTS[env]
    role = rng.choice(list(SERVER_ROLES))
    os_choices, role_tags = SERVER_ROLES[role]
    os_type, version = _pick(rng, os_choices)
    name = namer.name(f"{role}-{short}")
    tags = [role, *role_tags, *rng.sample(EXTRA_TAGS, rng.randint(0, 2))]
    return Asset(
        name=name,
        hostname=f"{name}.{short}.example.com",
        ip_address=namer.ip(octet),
        os_type=os_type,
        os_version=version,
        device_type="server",
        environment=env,
        tags=tags,
        owner=rng.choice(OWNERS),
        criticality=rng.choice(("low", "medium", "high")),
        connection={"protocol": "none"},
    )


def _workstation(rng: random.Random, namer: _Namer, env: str) -> Asset:
    dept = rng.choice(DEPARTMENTS)
    os_type, version = _pick(rng, WORKSTATION_OS)
    name = namer.name(f"ws-{dept}")
    return Asset(
        name=name,
        hostname=f"{name}.corp.example.com",
        ip_address=namer.ip(50 + DEPARTMENTS.index(dept)),
        os_type=os_type,
        os_version=version,
        device_type="workstation",
        environment=env,
        tags=[dept, "endpoint", *rng.sample(EXTRA_TAGS[:2], rng.randint(0, 1))],
        owner=f"{dept}-desk",
        connection={"protocol": "none"},
    )


def _device(rng: random.Random, namer: _Namer, env: str, kind: str) -> Asset:
    short, octet = ENVIRONMENTS[env]
    if kind == "storage":
        prefix, device_type, os_type, version = "nas", "storage", "other", "ONTAP 9.14"
    else:
        prefix, device_type = rng.choice(NETWORK_KINDS)
        os_type, version = "network", rng.choice(("IOS-XE 17.9", "NX-OS 10.3", "PAN-OS 11.1"))
    name = namer.name(f"{prefix}-{short}")
    return Asset(
        name=name,
        hostname=f"{name}.net.example.com",
        ip_address=namer.ip(octet + 100),
        os_type=os_type,
        os_version=version,
        device_type=device_type,
        environment=env,
        tags=[device_type, *rng.sample(EXTRA_TAGS[:2], rng.randint(0, 1))],
        owner=rng.choice(("netops", "storage")),
        connection={"protocol": "none"},
    )


def generate_assets(count: int, seed: int) -> list[Asset]:
    """`count` varied assets, the same ones for the same seed."""
    rng = random.Random(seed)
    namer = _Namer()
    kinds, kind_weights = zip(*KIND_WEIGHTS, strict=True)
    assets = []
    for _ in range(count):
        env = rng.choices(list(ENVIRONMENTS), weights=ENV_WEIGHTS)[0]
        kind = rng.choices(kinds, weights=kind_weights)[0]
        if kind == "server":
            assets.append(_server(rng, namer, env))
        elif kind == "workstation":
            assets.append(_workstation(rng, namer, env))
        else:
            assets.append(_device(rng, namer, env, kind))
    return assets


def expected_answers(assets: Sequence[Asset]) -> dict[str, str]:
    """For each question, a fact its answer must contain, computed from the generated data."""
    by_name = {a.name: a for a in assets}

    def count(**want: str) -> int:
        return sum(all(str(getattr(a, k)) == v for k, v in want.items()) for a in assets)

    staging_windows_ws = sorted(
        a.name
        for a in assets
        if (a.environment, a.os_type, a.device_type) == ("staging", "windows", "workstation")
    )
    web_servers = sum(a.device_type == "server" and "web" in a.tags for a in assets)
    return {
        QUESTIONS[0]: f"You have {len(assets)} assets",
        QUESTIONS[1]: f"{count(environment='production', os_type='linux', device_type='server')} ",
        # The list is capped, so it must at least start with the first name in order.
        QUESTIONS[2]: f"{staging_windows_ws[0]} ",
        QUESTIONS[3]: f"IP {by_name['web-prod-0042'].ip_address},",
        QUESTIONS[4]: f"IP {by_name['db-staging-0042'].ip_address},",
        QUESTIONS[5]: f"{web_servers} servers",
    }


async def seed(home: Path, assets: Sequence[Asset]) -> float:
    """Write the assets into a fresh store in `home`; returns the seconds it took."""
    started = time.perf_counter()
    conductor = await OpsConductor.open(_settings(home))
    try:
        async with conductor.db.session() as session:
            await repository.upsert_assets(session, assets)
    finally:
        await conductor.close()
    return time.perf_counter() - started


def _settings(home: Path) -> Settings:
    # database_url=None: an OPSCONDUCTOR_DATABASE_URL in the environment must not redirect us.
    return load_settings(home=home, database_url=None)


@dataclass
class Timings:
    """Latencies in seconds of one kind of request, all questions mixed, plus failures."""

    latencies: list[float] = field(default_factory=list)
    by_question: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def ask_failure(answer: Answer) -> str | None:
    """Why an answer from `ask` does not count as a success, or None."""
    if answer.execution_state != "succeeded":
        return f"state {answer.execution_state!r}: {answer.response.message[:120]!r}"
    if not answer.response.message.strip():
        return "empty message"
    return None


def plan_failure(answer: Answer) -> str | None:
    """Why an answer from `plan` does not count as a success, or None."""
    if answer.plan is None or not answer.plan.steps:
        return f"no plan: {answer.response.type} {answer.response.message[:120]!r}"
    return None


Request = Callable[[str], Awaitable[Answer]]
Check = Callable[[Answer], str | None]


async def measure(request: Request, check: Check, total: int) -> Timings:
    """`total` requests, one after another, cycling through the questions."""
    timings = Timings(by_question={q: [] for q in QUESTIONS})
    started = time.perf_counter()
    for i in range(total):
        question = QUESTIONS[i % len(QUESTIONS)]
        t0 = time.perf_counter()
        answer = await request(question)
        elapsed = time.perf_counter() - t0
        problem = check(answer)
        if problem:
            timings.failures.append(f"{question}: {problem}")
        timings.latencies.append(elapsed)
        timings.by_question[question].append(elapsed)
    timings.wall_s = time.perf_counter() - started
    return timings


@dataclass
class RunResult:
    """One full in-process run: fresh Conductors, their cold start, then the timed mix."""

    open_s: float
    index_s: float
    first_request_s: float
    ask: Timings
    plan: Timings


# The cheapest question, so that the first request shows the index build, not a big answer.
FIRST_QUESTION = QUESTIONS[3]


async def cold_start(home: Path) -> tuple[float, float, float]:
    """Seconds to open a OpsConductor, to build its inventory index alone, and for the first
    request of another fresh OpsConductor (which builds the index on the way)."""
    gc.collect()  # so that the previous run's garbage is not collected inside a timing
    t0 = time.perf_counter()
    conductor = await OpsConductor.open(_settings(home))
    open_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        await conductor.pipeline.index()
        index_s = time.perf_counter() - t0
    finally:
        await conductor.close()
    conductor = await OpsConductor.open(_settings(home))
    gc.collect()
    try:
        t0 = time.perf_counter()
        first = await conductor.pipeline.ask(FIRST_QUESTION, requester="bench")
        first_request_s = time.perf_counter() - t0
    finally:
        await conductor.close()
    if problem := ask_failure(first):
        raise RuntimeError(f"first request failed: {problem}")
    return open_s, index_s, first_request_s


async def run_once(home: Path, total: int, warmup: int) -> RunResult:
    """Time a cold start, then `ask` and `plan` over the question mix on one warm OpsConductor
    (`ask` warms the paths `plan` takes, so only `ask` gets warm-up requests)."""
    open_s, index_s, first_request_s = await cold_start(home)
    conductor = await OpsConductor.open(_settings(home))
    try:

        async def ask(text: str) -> Answer:
            return await conductor.pipeline.ask(text, requester="bench")

        await measure(ask, ask_failure, warmup)
        ask_timings = await measure(ask, ask_failure, total)
        plan_timings = await measure(conductor.plan, plan_failure, total)
    finally:
        await conductor.close()
    return RunResult(open_s, index_s, first_request_s, ask_timings, plan_timings)


@dataclass
class Sample:
    """One answer to a question, checked against the fact the generated inventory implies."""

    question: str
    state: str | None
    message: str
    expected: str
    targets: int

    @property
    def correct(self) -> bool:
        return self.state == "succeeded" and self.expected in self.message


async def sample_answers(home: Path, assets: Sequence[Asset]) -> list[Sample]:
    """One answer per question, with the number of assets its plan targets."""
    expected = expected_answers(assets)
    conductor = await OpsConductor.open(_settings(home))
    try:
        samples = []
        for question in QUESTIONS:
            answer = await conductor.pipeline.ask(question, requester="bench")
            steps = answer.plan.steps if answer.plan else []
            samples.append(
                Sample(
                    question=question,
                    state=answer.execution_state,
                    message=answer.response.message,
                    expected=expected[question],
                    targets=len({t for step in steps for t in step.targets}),
                )
            )
    finally:
        await conductor.close()
    return samples
