"""POST /assets/discover with hostile filters and hosts that cannot answer: a clear 4xx or an
answer that says nothing matched, never a 5xx, never a filter read as a wildcard; a host
that cannot be reached is named as failed and keeps no facts (unknown, never zero)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sqlalchemy import select
from tests.api.harness import Api
from tests.conftest import seed

from opsconductor.identity.models import Role
from opsconductor.store.tables import ExecutionRow

NOTHING_MATCHES = [
    {"q": "' OR 1=1 --"},
    {"q": "%"},
    {"q": "_"},
    {"q": "nohost-at-all"},
    {"location": "%"},
    {"location": "' OR ''='"},
    {"tags": ["../x"]},
    {"environment": "prod; DROP TABLE assets"},
]
REFUSED = [
    {"q": "x" * 10_000},
    {"environment": "\u0000"},
    {"location": "a\nb"},
    {"os_type": "bsd"},
    {"tags": "web"},
    {"confirm": "yes"},
    {"unknown_field": 1},
]


@pytest.mark.parametrize("body", NOTHING_MATCHES, ids=range(len(NOTHING_MATCHES)))
async def test_a_hostile_filter_matches_nothing_and_runs_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    response = await api.client.post(
        "/assets/discover", json={**body, "confirm": True}, headers=api.headers(Role.OPERATOR)
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["response"]["type"] == "error", document["response"]
    assert "No assets match" in document["response"]["message"]
    assert document["execution"] is None
    async with api.conductor.db.reader() as session:
        assert list(await session.scalars(select(ExecutionRow))) == []


@pytest.mark.parametrize("body", REFUSED, ids=range(len(REFUSED)))
async def test_a_malformed_filter_is_a_422(api: Api, body: dict[str, Any]) -> None:
    response = await api.client.post(
        "/assets/discover", json=body, headers=api.headers(Role.OPERATOR)
    )
    assert response.status_code == 422, response.text
    assert "Traceback" not in response.text


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_host_is_reported_failed_and_keeps_no_facts(api: Api) -> None:
    down = {"name": "down-01", "hostname": "localhost", "ip_address": "127.0.0.1"}
    down |= {"os_type": "linux", "device_type": "server", "environment": "lab"}
    down["connection"] = {"protocol": "ssh", "port": closed_port(), "username": "nobody"}
    await seed(api.conductor, [down])
    response = await api.client.post(
        "/assets/discover",
        json={"q": "down-01", "confirm": True},
        headers=api.headers(Role.OPERATOR),
    )
    assert response.status_code == 200, response.text
    document = response.json()
    execution = document["execution"]
    assert execution is not None, document["response"]
    shown = await api.client.get(f"/executions/{execution['id']}", headers=api.headers(Role.VIEWER))
    result = shown.json()
    assert result["status"] == "failed", result
    # Said as a failure of that host, never as a host with nothing to report.
    assert "down-01: linux collect facts failed" in document["response"]["message"], document
    detail = await api.client.get("/assets/down-01", headers=api.headers(Role.VIEWER))
    assert detail.json()["facts"] is None and detail.json()["facts_collected_at"] is None
