"""Who may call what: every role against every endpoint, and no token against all of them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.api.harness import Api

from opsconductor.identity.models import Role
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset

ROLES: list[Role | None] = [None, Role.VIEWER, Role.OPERATOR, Role.APPROVER, Role.ADMIN]
_serial = itertools.count()


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # may name {execution}, {approval} (alice's pending level-2 reboot) or {asset}
    expected: str  # the status class for: no token, viewer, operator, approver, admin
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    content: str | None = None

    def expected_for(self, role: Role | None) -> str:
        return dict(zip(ROLES, self.expected.split(), strict=True))[role]


ASSET_YAML = "assets:\n  - {name: imported-01, os_type: linux, device_type: server}\n"
NEW_ASSET = {"os_type": "linux", "device_type": "server", "environment": "lab"}

#    path                                              none viewer operator approver admin
MATRIX = [
    Case("GET", "/healthz", "2xx 2xx 2xx 2xx 2xx"),
    Case("GET", "/metrics", "401 2xx 2xx 2xx 2xx"),
    Case("POST", "/requests", "401 403 2xx 2xx 2xx", json={"text": "reboot web-prod-01"}),
    Case("GET", "/executions", "401 2xx 2xx 2xx 2xx"),
    Case("GET", "/executions/{execution}", "401 2xx 2xx 2xx 2xx"),
    Case("POST", "/executions/{execution}/cancel", "401 403 2xx 2xx 2xx"),
    # Alice's level-2 reboot is not interrupted: those who may resolve are told so (409).
    Case(
        "POST", "/executions/{execution}/resolve", "401 403 403 409 409", json={"decision": "retry"}
    ),
    Case("GET", "/approvals", "401 2xx 2xx 2xx 2xx", params={"status": "pending"}),
    Case("POST", "/approvals/{approval}/approve", "401 403 403 2xx 2xx", json={}),
    Case("POST", "/approvals/{approval}/deny", "401 403 403 2xx 2xx", json={"comment": "no"}),
    Case("GET", "/assets", "401 2xx 2xx 2xx 2xx"),
    Case("GET", "/assets/{asset}", "401 2xx 2xx 2xx 2xx"),
    Case("POST", "/assets", "401 403 403 403 2xx", json=NEW_ASSET),
    Case("PATCH", "/assets/{asset}", "401 403 403 403 2xx", json={"owner": "Ops"}),
    Case("DELETE", "/assets/{asset}", "401 403 403 403 2xx"),
    Case("POST", "/assets/discover", "401 403 2xx 2xx 2xx", json={"q": "web-prod"}),
    Case(
        "POST",
        "/assets/import",
        "401 403 403 403 2xx",
        params={"format": "yaml"},
        content=ASSET_YAML,
    ),
    Case("GET", "/tools", "401 2xx 2xx 2xx 2xx"),
    Case("GET", "/tools/linux.reboot", "401 2xx 2xx 2xx 2xx"),
    Case("GET", "/audit", "401 2xx 2xx 2xx 2xx"),
    Case("GET", "/audit/verify", "401 2xx 2xx 2xx 2xx"),
    Case("POST", "/stream-tickets", "401 2xx 2xx 2xx 2xx"),
    Case("GET", "/me", "401 2xx 2xx 2xx 2xx"),
    Case("GET", "/executions/{execution}/plan", "401 2xx 2xx 2xx 2xx"),
]
# Streams, checked in their own tests; here only that they refuse a caller without a token.
STREAMS = [
    Case("GET", "/executions/{execution}/events", "401 - - - -"),
    Case("GET", "/feed", "401 - - - -"),
]


async def fill(api: Api, case: Case) -> tuple[str, Any]:
    """The case's path with fresh objects for its placeholders, and its JSON body."""
    values: dict[str, str] = {}
    if "{execution}" in case.path or "{approval}" in case.path:
        asked = await api.ask(Role.OPERATOR, "reboot web-prod-01")
        values["execution"] = asked["execution"]["id"]
        values["approval"] = asked["approval"]["ids"][0]
    if "{asset}" in case.path:
        values["asset"] = f"matrix-{next(_serial)}"
        async with api.conductor.db.session() as session:
            asset = Asset.model_validate({"name": values["asset"], **NEW_ASSET})
            await repository.upsert_assets(session, [asset])
    body = case.json
    if case.path == "/assets":
        body = {"name": f"created-{next(_serial)}", **NEW_ASSET}
    return case.path.format(**values), body


def status_class(code: int) -> str:
    return "2xx" if 200 <= code < 300 else str(code)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "no-token")
async def test_role_against_every_endpoint(api: Api, role: Role | None) -> None:
    headers = api.headers(role) if role else {}
    wrong = []
    for case in MATRIX + (STREAMS if role is None else []):
        path, body = await fill(api, case)
        response = await api.client.request(
            case.method, path, json=body, params=case.params, content=case.content, headers=headers
        )
        got, expected = status_class(response.status_code), case.expected_for(role)
        if got != expected:
            wrong.append(f"{case.method} {path}: {got} (expected {expected}): {response.text}")
        elif got in {"401", "403"}:
            assert response.json()["detail"], (case, response.text)
        if got == "401":
            assert response.headers["www-authenticate"] == "Bearer"
    assert not wrong, "\n".join(wrong)


async def test_the_matrix_covers_every_operation(api: Api) -> None:
    spec = (await api.client.get("/../../openapi.json")).json()
    operations = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, item in spec["paths"].items()
        for method in item
    }
    templates = {
        "{execution}": "{execution_id}",
        "{approval}": "{approval_id}",
        "{asset}": "{name}",
        "linux.reboot": "{name}",
    }
    covered = set()
    for case in MATRIX + STREAMS:
        path = case.path
        for concrete, template in templates.items():
            path = path.replace(concrete, template)
        covered.add((case.method, path))
    assert operations == covered
