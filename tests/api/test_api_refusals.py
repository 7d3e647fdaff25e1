"""Each refusal answers with the right status and a clear message, and leaves an audit row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from tests.api.harness import Api

from opsconductor.identity import repository as identity
from opsconductor.identity.models import Role
from opsconductor.store.tables import ApprovalRow, ExecutionRow, utcnow


async def ask_reboot(api: Api, role: Role = Role.OPERATOR) -> tuple[str, str]:
    """A pending level-2 plan; returns its approval id and execution id."""
    asked = await api.ask(role, "reboot web-prod-01")
    assert asked["approval"]["level"] == 2
    return asked["approval"]["ids"][0], asked["execution"]["id"]


async def approve(api: Api, approval_id: str, role: Role) -> Any:
    return await api.client.post(
        f"/approvals/{approval_id}/approve", json={}, headers=api.headers(role)
    )


async def test_approver_approving_own_level_two_plan_is_forbidden(api: Api) -> None:
    approval_id, _ = await ask_reboot(api, Role.APPROVER)
    response = await approve(api, approval_id, Role.APPROVER)
    assert response.status_code == 403
    assert "someone other than the requester" in response.json()["detail"]
    [row] = await api.audit(entity_id=approval_id, action="decision_refused")
    assert row.actor == "bob" and "requester" in (row.reason or "")


async def test_operator_approving_own_level_two_plan_is_forbidden(api: Api) -> None:
    approval_id, _ = await ask_reboot(api)
    response = await approve(api, approval_id, Role.OPERATOR)
    assert response.status_code == 403
    assert "needs the approver role" in response.json()["detail"]
    [row] = await api.audit(entity_id=approval_id, action="decision_refused")
    assert row.actor == "alice"


async def test_viewer_may_not_ask(api: Api) -> None:
    response = await api.client.post(
        "/requests", json={"text": "how many assets do we have"}, headers=api.headers("viewer")
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Not permitted: your role (viewer) lacks the 'ask' permission."
    }
    [row] = await api.audit(entity_type="auth", action="permission_refused")
    assert row.actor == "victor" and row.details["path"] == "/api/v1/requests"
    assert (await api.client.get("/executions", headers=api.headers("viewer"))).json()["count"] == 0


async def test_expired_approval_conflicts(api: Api) -> None:
    approval_id, execution_id = await ask_reboot(api)
    async with api.conductor.db.session() as session:
        past = utcnow() - timedelta(minutes=1)
        await session.execute(
            update(ApprovalRow).where(ApprovalRow.id == approval_id).values(expires_at=past)
        )
    response = await approve(api, approval_id, Role.APPROVER)
    assert response.status_code == 409
    assert f"approval {approval_id} expired at" in response.json()["detail"]
    [row] = await api.audit(entity_id=approval_id, action="expired")
    assert row.actor == "bob" and row.reason == "decision attempted after expiry"
    result = await api.client.get(f"/executions/{execution_id}", headers=api.headers("viewer"))
    assert result.json()["status"] == "expired"


async def test_approval_of_a_changed_plan_conflicts(api: Api) -> None:
    approval_id, execution_id = await ask_reboot(api)
    async with api.conductor.db.session() as session:
        execution = await session.get(ExecutionRow, execution_id)
        assert execution is not None
        changed = dict(execution.plan)
        changed["steps"] = [{**changed["steps"][0], "targets": ["web-prod-02"]}]
        await session.execute(
            update(ExecutionRow).where(ExecutionRow.id == execution_id).values(plan=changed)
        )
    response = await approve(api, approval_id, Role.APPROVER)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("the plan changed after this approval")
    [row] = await api.audit(entity_id=approval_id, action="decision_refused")
    assert row.actor == "bob" and "plan changed" in (row.reason or "")
    # The approval can no longer be given: it is void, and its execution ended.
    [voided] = await api.audit(entity_id=approval_id, action="voided")
    assert voided.actor == "bob"
    shown = await api.client.get(f"/executions/{execution_id}", headers=api.headers("viewer"))
    assert shown.json()["status"] == "rejected"


async def test_approval_already_decided_conflicts(api: Api) -> None:
    approval_id, _ = await ask_reboot(api)
    denied = await api.client.post(
        f"/approvals/{approval_id}/deny", json={"comment": "not now"}, headers=api.headers("admin")
    )
    assert denied.status_code == 200 and denied.json()["state"] == "rejected"
    response = await approve(api, approval_id, Role.APPROVER)
    assert response.status_code == 409
    assert response.json()["detail"] == f"approval {approval_id} is already denied"


async def test_deny_needs_a_comment(api: Api) -> None:
    approval_id, _ = await ask_reboot(api)
    for body in ({}, {"comment": ""}, {"comment": "   "}):
        response = await api.client.post(
            f"/approvals/{approval_id}/deny", json=body, headers=api.headers("approver")
        )
        assert response.status_code == 422, body
        assert "comment" in response.json()["detail"]


async def test_missing_token_is_unauthorized(api: Api) -> None:
    response = await api.client.get("/executions")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]
    [row] = await api.audit(entity_type="auth", action="token_refused")
    assert row.actor == "anonymous" and row.reason == "no bearer token"


async def test_revoked_token_is_unauthorized(api: Api) -> None:
    token = api.token("operator")
    assert (await api.client.get("/executions", headers=api.headers("operator"))).status_code == 200
    async with api.conductor.db.session() as session:
        [issued] = await identity.list_tokens(session, "alice")
        await identity.revoke_token(session, issued.id, actor="root")
    response = await api.client.get("/executions", headers=api.headers("operator"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "The token is invalid, expired or revoked."}
    [row] = await api.audit(entity_type="auth", action="token_refused")
    assert row.reason == "invalid, expired or revoked token"
    rows = await api.audit()
    assert all(token not in repr(vars(r)) for r in rows)  # no token content in the trail


async def test_garbage_token_is_unauthorized(api: Api) -> None:
    for value in ("Bearer not-a-token", "Basic YWxpY2U6c2VjcmV0", "Bearer "):
        response = await api.client.get("/assets", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.headers["www-authenticate"] == "Bearer"


async def test_operator_cancels_only_own_executions(api: Api) -> None:
    _, bobs = await ask_reboot(api, Role.APPROVER)
    response = await api.client.post(f"/executions/{bobs}/cancel", headers=api.headers("operator"))
    assert response.status_code == 403
    assert "only your own" in response.json()["detail"]
    [row] = await api.audit(entity_id=bobs, action="cancel_refused")
    assert row.actor == "alice"
    _, own = await ask_reboot(api)
    response = await api.client.post(
        f"/executions/{own}/cancel", json={"reason": "wrong host"}, headers=api.headers("operator")
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = await api.client.post(f"/executions/{own}/cancel", headers=api.headers("admin"))
    assert again.status_code == 409 and "has already ended" in again.json()["detail"]


async def test_unknown_ids_are_not_found(api: Api) -> None:
    headers = api.headers("approver")
    for method, path in [
        ("GET", "/executions/nope"),
        ("POST", "/executions/nope/cancel"),
        ("POST", "/approvals/nope/approve"),
        ("GET", "/assets/nope"),
        ("GET", "/tools/nope"),
    ]:
        response = await api.client.request(method, path, headers=headers)
        assert response.status_code == 404, (method, path)
        assert "nope" in response.json()["detail"]
