"""Prometheus metrics: counted from the store at scrape time, HTTP requests counted in process,
and text that a Prometheus parser accepts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.api.harness import Api

from opsconductor.api import create_app, metrics
from opsconductor.api.errors import install_error_handlers
from opsconductor.api.metrics import MetricFamily, install_request_metrics, render
from opsconductor.config import load_settings
from opsconductor.identity.models import Role

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Samples and declared types of a text exposition (0.0.4); fails on any line it can't read."""
    samples: Samples = {}
    types: dict[str, str] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, label_text, value = match.groups()
        labels: list[tuple[str, str]] = []
        rest = label_text or ""
        while rest:
            found = _LABEL.match(rest)
            assert found, f"bad labels in {line!r}"
            raw = re.sub(r"\\.", lambda m: _UNESCAPE[m.group(0)], found.group(2))
            labels.append((found.group(1), raw))
            rest = rest[found.end() :]
        key = (name, frozenset(labels))
        assert key not in samples, f"duplicate series {line!r}"
        samples[key] = float(value)
    return samples, types


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def test_store_metrics_count_executions_approvals_and_step_durations(api: Api) -> None:
    ran = await api.ask(Role.OPERATOR, "check disk space on ops-console", confirm=True)
    await api.ask(Role.OPERATOR, "how many assets do we have")
    await api.ask(Role.OPERATOR, "restart service nginx on web-prod-02")
    assert ran["execution"]["status"] == "succeeded"

    response = await api.client.get("/metrics", headers=api.headers(Role.VIEWER))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = response.text.splitlines()
    assert "# TYPE opsconductor_executions gauge" in lines
    assert 'opsconductor_executions{status="succeeded"} 2' in lines
    assert 'opsconductor_executions{status="pending_approval"} 1' in lines
    assert 'opsconductor_executions{status="failed"} 0' in lines
    assert "opsconductor_approvals_pending 1" in lines
    assert "# TYPE opsconductor_step_duration_seconds histogram" in lines

    samples, types = parse(response.text)
    assert types["opsconductor_approvals_pending"] == "gauge"
    tools = {
        dict(labels)["tool"]
        for name, labels in samples
        if name == "opsconductor_step_duration_seconds_count"
    }
    [df_tool] = [s["tool"] for s in ran["plan"]["steps"]]
    assert df_tool in tools and len(tools) == 2  # the disk check and the inventory count
    for tool in tools:
        count = sample(samples, "opsconductor_step_duration_seconds_count", tool=tool)
        buckets = [
            sample(samples, "opsconductor_step_duration_seconds_bucket", tool=tool, le=le)
            for le in [repr(b) for b in metrics.STEP_DURATION_BUCKETS] + ["+Inf"]
        ]
        assert count == 1 and buckets == sorted(buckets) and buckets[-1] == count
        assert buckets[-2] == 1  # both took less than a minute
        assert 0 <= sample(samples, "opsconductor_step_duration_seconds_sum", tool=tool) < 60


async def test_metrics_need_a_token(api: Api) -> None:
    assert (await api.client.get("/metrics")).status_code == 401
    bad = {"Authorization": "Bearer oc_not_a_token"}
    assert (await api.client.get("/metrics", headers=bad)).status_code == 401


@pytest.fixture
async def small_app(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """An application with a route of its own, the metrics router and the request counter,
    over the `api` fixture's OpsConductor: the wiring create_app is asked to do."""
    app = FastAPI()
    install_error_handlers(app)
    install_request_metrics(app)
    app.include_router(metrics.router)
    app.state.conductor = api.conductor

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        if thing_id == 0:
            raise RuntimeError("a bug")
        return {"id": thing_id}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_requests_are_counted_by_route_template_method_and_status(
    api: Api, small_app: httpx.AsyncClient
) -> None:
    for path in ("/things/1", "/things/2", "/things/x", "/things/0", "/nowhere"):
        await small_app.get(path)
    await small_app.request("BREW", "/things/1")
    await small_app.post("/things/1")

    response = await small_app.get("/api/v1/metrics", headers=api.headers(Role.VIEWER))

    lines = response.text.splitlines()
    assert "# TYPE opsconductor_http_requests_total counter" in lines
    family = "opsconductor_http_requests_total"
    assert f'{family}{{method="GET",route="/things/{{thing_id}}",status="200"}} 2' in lines
    assert f'{family}{{method="GET",route="/things/{{thing_id}}",status="422"}} 1' in lines
    assert f'{family}{{method="GET",route="/things/{{thing_id}}",status="500"}} 1' in lines
    assert f'{family}{{method="GET",route="unmatched",status="404"}} 1' in lines
    assert f'{family}{{method="OTHER",route="/things/{{thing_id}}",status="405"}} 1' in lines
    assert f'{family}{{method="POST",route="/things/{{thing_id}}",status="405"}} 1' in lines
    samples, _ = parse(response.text)
    assert sum(v for (name, _), v in samples.items() if name == family) == 7  # not this one


def test_label_values_and_help_are_escaped() -> None:
    family = MetricFamily("demo_total", "counter", 'Help with a \\ and a\nnewline "quoted".')
    family.add(3, (("path", 'C:\\tmp\\"x"\nnext'),))
    family.add(0.25, (("path", "plain"),))
    text = render([family])
    assert text.splitlines() == [
        '# HELP demo_total Help with a \\\\ and a\\nnewline "quoted".',
        "# TYPE demo_total counter",
        'demo_total{path="C:\\\\tmp\\\\\\"x\\"\\nnext"} 3',
        'demo_total{path="plain"} 0.25',
    ]
    samples, _ = parse(text)
    assert sample(samples, "demo_total", path='C:\\tmp\\"x"\nnext') == 3


async def test_the_real_app_counts_routes_with_their_prefix(tmp_path: Path) -> None:
    app = create_app(load_settings(home=tmp_path / "home", embedded_worker=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/api/v1/healthz")).status_code == 200
            assert (await client.get("/healthz")).status_code == 200
    counts = app.state.request_metrics.counts
    assert counts[("GET", "/api/v1/healthz", "200")] == 1
    assert counts[("GET", "/healthz", "200")] == 1
