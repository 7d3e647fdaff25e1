"""The application as a whole: the answer document, OpenAPI, listings, health, the worker's
lifespan, and `opsconductor serve` as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.api.harness import Api, serve_api
from tests.conftest import FLEET, seed

from opsconductor.config import Settings
from opsconductor.schemas.answer import AnswerV1


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("how many assets do we have", {}),  # level 0: runs at once
        ("restart service nginx on web-prod-01", {}),  # level 1: pending
        ("reboot web-prod-01", {"dry_run": True}),  # previewed only
        ("reboot mystery-host-99", {}),  # a clarification
        ("x" * 5000, {}),  # longer than max_request_chars: an error answer
    ],
)
async def test_the_answer_document_is_passed_on_unchanged(
    api: Api, text: str, options: dict[str, bool]
) -> None:
    direct = await api.conductor.pipeline.ask(text, requester="alice", wait=False, **options)
    document = direct.to_document()
    assert AnswerV1.model_validate(document).model_dump(mode="json") == document
    through_api = await api.ask("operator", text, **options)
    assert set(through_api) == set(document)
    assert through_api["approval"].keys() == document["approval"].keys()
    assert through_api["response"]["type"] == document["response"]["type"]
    assert through_api["mode"] == document["mode"]


async def test_the_api_documents_answer_v1_and_the_cli_prints_it(api: Api, tmp_path: Path) -> None:
    """One reply contract: POST /requests' documented 200 schema is AnswerV1's, and what
    `ask --format json` prints (a real CLI process) validates against it."""
    spec = (await api.client.get("/../../openapi.json")).json()
    ok = spec["paths"]["/api/v1/requests"]["post"]["responses"]["200"]
    reference = ok["content"]["application/json"]["schema"]["$ref"]
    assert reference == "#/components/schemas/AnswerV1"
    documented = spec["components"]["schemas"]["AnswerV1"]
    generated = AnswerV1.model_json_schema(ref_template="#/components/schemas/{model}")
    assert documented["properties"].keys() == generated["properties"].keys()
    assert documented["required"] == generated["required"]

    home = tmp_path / "cli-home"
    printed = subprocess.run(
        [
            str(Path(sys.executable).parent / "opsconductor"),
            "ask",
            "how many assets do we have",
            "--format",
            "json",
        ],
        env={**os.environ, "OPSCONDUCTOR_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = AnswerV1.model_validate_json(printed.stdout)
    assert answer.version == 1 and answer.response.type == "information"
    assert answer.approval.status == "not_required"


async def test_absurdly_long_body_is_refused_before_the_pipeline(api: Api) -> None:
    response = await api.client.post(
        "/requests", json={"text": "x" * 100_001}, headers=api.headers("operator")
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Invalid request: body.text:")


async def test_executions_filter_by_status_requester_and_time(api: Api) -> None:
    await api.ask("operator", "reboot web-prod-01")
    await api.ask("approver", "how many assets do we have")
    viewer = api.headers("viewer")

    async def ids(**params: str) -> list[str]:
        response = await api.client.get("/executions", params=params, headers=viewer)
        assert response.status_code == 200, response.text
        return [e["requested_by"] for e in response.json()["data"]]

    assert sorted(await ids()) == ["alice", "bob"]
    assert await ids(status="pending_approval") == ["alice"]
    assert await ids(requester="bob") == ["bob"]
    future = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert await ids(since=future) == []
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert len(await ids(since=past)) == 2
    bad = await api.client.get("/executions", params={"status": "nonsense"}, headers=viewer)
    assert bad.status_code == 422 and "status" in bad.json()["detail"]


async def test_tools_describe_the_catalog(api: Api) -> None:
    response = await api.client.get(
        "/tools", params={"platform": "linux"}, headers=api.headers("viewer")
    )
    tools = {t["name"]: t for t in response.json()["data"]}
    restart = tools["linux.service_restart"]
    assert restart["risk"] == "medium" and restart["read_only"] is False
    assert restart["parameters"]["service"]["required"] is True
    assert all("linux" in t["platforms"] for t in tools.values())


async def test_openapi_documents_every_operation(api: Api) -> None:
    spec = (await api.client.get("/../../openapi.json")).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert codes & {"200", "201", "204"}, (method, path)
            if path != "/api/v1/healthz":
                assert "401" in codes and operation.get("security"), (method, path)
            success = operation["responses"].get("200", {}).get("content", {})
            if method != "delete" and not path.endswith("/events"):
                assert success or "201" in codes, (method, path)


async def test_healthz_needs_no_token(api: Api) -> None:
    for path in ("/healthz", "/../../healthz"):
        response = await api.client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}


async def test_embedded_worker_runs_background_work_and_stops_cleanly(
    settings: Settings,
) -> None:
    async with serve_api(settings) as api:
        await seed(api.conductor, FLEET)
        asked = await api.ask("operator", "reboot web-prod-01")
        response = await api.client.post(
            f"/approvals/{asked['approval']['ids'][0]}/approve", headers=api.headers("approver")
        )
        assert response.json()["execution"]["status"] == "queued"
        result = await api.wait_for_end(asked["execution"]["id"])
        # web-prod-01 has no trusted host key: refused before any connection is made.
        assert result["status"] == "failed"
        assert result["step_results"][0]["error_kind"] == "host_key_mismatch"
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "opsconductor-worker"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_prints_the_first_admin_token_once(tmp_path: Path) -> None:
    env = {**os.environ, "OPSCONDUCTOR_HOME": str(tmp_path / "home")}
    env.pop("OPSCONDUCTOR_DATABASE_URL", None)
    port = _free_port()
    command = [sys.executable, "-m", "opsconductor", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        output = "".join(lines)
        assert "save it now" in output, output
        token = next(w for w in output.split() if w.startswith("oct_"))
        base = f"http://127.0.0.1:{port}/api/v1"
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        me = httpx.get(f"{base}/executions", headers=headers, timeout=10)
        assert me.status_code == 200, me.text
        assert httpx.get(f"{base}/executions", timeout=10).status_code == 401
    finally:
        server.terminate()
        rest, _ = server.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert "Application shutdown complete" in rest and "Traceback" not in output + rest
    assert server.returncode in {0, -signal.SIGTERM}
    again = subprocess.run(
        [sys.executable, "-m", "opsconductor", "users", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "admin" in again.stdout, again.stderr
