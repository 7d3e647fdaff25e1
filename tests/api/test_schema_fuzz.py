"""The API against its own OpenAPI document (Schemathesis): no 5xx, and no status, content type
or body the document does not declare.

Two tests share one application over a seeded store:

- `test_real_answers_keep_to_the_spec` walks the requests a client really makes (questions
  answered, plans failed, approved, denied and cancelled) and checks each answer: generated
  text almost never forms a request the pipeline understands, so without this walk the
  richest documents (decision, plan, execution result) would go unchecked.
- `test_operation_keeps_to_the_spec` is the property-based run: every documented operation
  with examples Schemathesis derives from the document (valid and invalid values, boundary
  values, unsupported methods), a bounded number per operation, from a derandomized generator,
  so that CI runs the same cases every time and a failure reproduces.

Both call in process over ASGI as an admin, the role that may call every operation (a few
generated cases replace the token, which checks the 401 answers too). The store is the embedded
SQLite one: the document does not depend on the backend, and the other API tests run every
route on PostgreSQL as well."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import FLEET, seed

from opsconductor.api import create_app
from opsconductor.app import OpsConductor
from opsconductor.config import Settings, load_settings
from opsconductor.identity import repository as identity
from opsconductor.identity.models import Role

EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATOR = "fuzz-operator"
# No operation is left out. POST /requests and the approvals stay in the run because nothing
# is reached: every seeded asset has no connection, so a plan fails before any command runs,
# and an asset the run creates (ssh to a generated address) would have to be named in a
# sentence the rules understand, which generated text does not form. The event stream stays
# in too: generated ids name no execution (404), and a real one is only streamed once ended.
# The one exception is GET /feed, the stream of every execution: it never ends by design, so a
# generated case with a valid token would wait forever (tests/api/test_api_web_support.py
# covers its answers and refusals over real HTTP).
ENDLESS = "/api/v1/feed"
UNREACHABLE = {"connection": {"protocol": "none"}}
# Asked by the operator before the run: rows for the list answers, and approvals to decide.
SEED_QUESTIONS = ("how many assets do we have", "check disk space on web-prod-01")
SEED_REBOOTS = 3  # level 2, waiting for an approver: one approved, one denied, one cancelled
# Asked by the admin during the walk: an answer, a dry run, a clarification, a failed level-1
# plan, a request over `max_request_chars`, and a level-3 plan left waiting.
QUESTIONS: tuple[dict[str, Any], ...] = (
    {"text": "how many production linux servers do we have"},
    {"text": "show server details for web-prod-01", "dry_run": True},
    {"text": "make me a sandwich"},
    {"text": "restart nginx on web-prod-02", "confirm": True},
    {"text": "how many assets " * 200},
    {"text": "drop database billing and reboot web-prod-02"},
)
IMPORT_YAML = "assets:\n  - {name: imported-01, os_type: linux, device_type: server}\n"


@dataclass
class Target:
    """The application, an admin's Authorization header, and what the seed left pending."""

    app: FastAPI
    headers: dict[str, str]
    reboot_approvals: list[str] = field(default_factory=list)


async def prepare(settings: Settings) -> tuple[str, list[str]]:
    """Seed the store; return an admin's token and the ids of the reboots' approvals."""
    conductor = await OpsConductor.open(settings)
    try:
        await seed(conductor, [{**asset, **UNREACHABLE} for asset in FLEET])
        async with conductor.db.session() as session:
            await identity.create_user(session, "fuzz-admin", Role.ADMIN, actor="test")
            await identity.create_user(session, OPERATOR, Role.OPERATOR, actor="test")
            _, token = await identity.create_token(session, "fuzz-admin", actor="test")
        for text in SEED_QUESTIONS:
            await conductor.pipeline.ask(text, requester=OPERATOR, role=Role.OPERATOR, confirm=True)
        approvals = []
        for _ in range(SEED_REBOOTS):
            answer = await conductor.pipeline.ask(
                "reboot web-prod-01", requester=OPERATOR, wait=False
            )
            approvals.extend(answer.to_document()["approval"]["ids"])
    finally:
        await conductor.close()
    return token, approvals


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Target:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    # No embedded worker: nothing queued may run, time out or expire behind the run's back.
    settings = load_settings(home=home, database_url=None, embedded_worker=False)
    token, approvals = asyncio.run(prepare(settings))
    return Target(create_app(settings), {"Authorization": f"Bearer {token}"}, approvals)


# The document depends on the routes only: settings are first read by the lifespan, which this
# application never runs. Loaded at collection so that each operation is a test of its own.
schema = schemathesis.openapi.from_dict(create_app(Settings.model_construct()).openapi())


def call(target: Target, operation: str, status: int = 200, **case: Any) -> Any:
    """Send one hand-made case ("GET /path"), check it like a generated one, expect `status`."""
    method, path = operation.split(" ", 1)
    made = schema[f"/api/v1{path}"][method].Case(**case)
    response = made.call_and_validate(app=target.app, headers=target.headers, checks=CHECKS)
    assert response.status_code == status, response.text
    return response


def decide_the_reboots(target: Target) -> None:
    """Approve one seeded reboot (it is queued), deny one, cancel that one and the third."""
    approve, deny, cancel = target.reboot_approvals
    where = {"approval_id": approve}
    approved = call(target, "POST /approvals/{approval_id}/approve", path_parameters=where, body={})
    assert approved.json()["execution"]["status"] == "queued"  # background: no worker here
    where = {"approval_id": deny}
    call(
        target, "POST /approvals/{approval_id}/deny", path_parameters=where, body={"comment": "no"}
    )
    pending = call(target, "GET /approvals", query={"status": "pending"}).json()["data"]
    waiting = next(a["execution_id"] for a in pending if a["id"] == cancel)
    for execution_id in (approved.json()["execution"]["id"], waiting):
        where = {"execution_id": execution_id}
        call(target, "POST /executions/{execution_id}/cancel", path_parameters=where, body={})


def test_real_answers_keep_to_the_spec(target: Target) -> None:
    for body in QUESTIONS:
        call(target, "POST /requests", body=body)
    decide_the_reboots(target)
    executions = call(target, "GET /executions", query={"limit": 100}).json()["data"]
    states = {execution["state"] for execution in executions}
    assert {"succeeded", "failed", "cancelled", "rejected", "pending_approval"} <= states
    for execution in executions:
        where = {"execution_id": execution["id"]}
        call(target, "GET /executions/{execution_id}", path_parameters=where)
        if execution["completed_at"]:  # the stream of an ended execution ends too
            call(target, "GET /executions/{execution_id}/events", path_parameters=where)
    asset = {"name": "web-prod-02"}
    call(target, "GET /assets/{name}", path_parameters=asset)
    call(target, "PATCH /assets/{name}", path_parameters=asset, body={"owner": "Web Team"})
    yaml = {"query": {"format": "yaml"}, "body": IMPORT_YAML, "media_type": "text/plain"}
    call(target, "POST /assets/import", **yaml)
    call(target, "GET /tools/{name}", path_parameters={"name": "linux.reboot"})
    for path in ("/assets", "/tools", "/audit", "/audit/verify", "/metrics", "/healthz"):
        call(target, f"GET {path}")


@schema.exclude(path=ENDLESS).parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,  # the first call of each operation opens the store: slow, and not the point
    derandomize=True,
    database=None,  # derandomized: nothing to replay, and no .hypothesis/ in the work tree
    # Generating a big body is slow on a busy CI runner; that is no failure of the API.
    suppress_health_check=[HealthCheck.too_slow],
)
def test_operation_keeps_to_the_spec(case: Any, target: Target) -> None:
    case.call_and_validate(app=target.app, headers=target.headers, checks=CHECKS)
