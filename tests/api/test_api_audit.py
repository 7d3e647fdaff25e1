"""The audit trail through the API: listing, and a tampered row found by /audit/verify."""

from __future__ import annotations

from sqlalchemy import delete, update
from tests.api.harness import Api

from opsconductor.store.audit_verify import make_anchor
from opsconductor.store.tables import AuditEventRow


async def test_audit_lists_newest_first_with_filters(api: Api) -> None:
    asked = await api.ask("operator", "reboot web-prod-01")
    execution_id = asked["execution"]["id"]
    response = await api.client.get(
        "/audit", params={"entity": execution_id, "limit": 1}, headers=api.headers("viewer")
    )
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 1 and page["limit"] == 1 and page["offset"] == 0
    [event] = page["data"]
    assert event["entity_type"] == "execution" and event["action"] == "created"
    assert event["actor"] == "alice" and len(event["hash"]) == 64

    everything = await api.client.get("/audit", headers=api.headers("viewer"))
    ids = [e["id"] for e in everything.json()["data"]]
    assert ids == sorted(ids, reverse=True)


async def test_tampered_row_is_named_by_verify(api: Api) -> None:
    await api.ask("operator", "reboot web-prod-01")
    intact = await api.client.get("/audit/verify", headers=api.headers("viewer"))
    assert intact.json()["ok"] is True and intact.json()["first_bad_id"] is None
    checked = intact.json()["checked"]
    assert checked > 3

    rows = await api.audit(entity_type="approval", action="requested")
    victim = rows[0].id
    async with api.conductor.db.session() as session:
        await session.execute(
            update(AuditEventRow)
            .where(AuditEventRow.id == victim)
            .values(reason="level 0 approval: nothing to see")
        )
    response = await api.client.get("/audit/verify", headers=api.headers("viewer"))
    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is False
    assert report["first_bad_id"] == victim
    assert report["problem"].startswith("content altered")
    assert report["checked"] < checked


async def test_verify_against_an_anchor(api: Api) -> None:
    await api.ask("operator", "reboot web-prod-01")
    made = await make_anchor(api.conductor.db, "tester")
    assert made.anchor is not None
    token = str(made.anchor)
    held = await api.client.get(
        "/audit/verify", params={"anchor": token}, headers=api.headers("viewer")
    )
    malformed = await api.client.get(
        "/audit/verify", params={"anchor": "oca1-x"}, headers=api.headers("viewer")
    )
    async with api.conductor.db.session() as session:
        await session.execute(delete(AuditEventRow).where(AuditEventRow.id == made.anchor.last_id))
    cut = await api.client.get(
        "/audit/verify", params={"anchor": token}, headers=api.headers("viewer")
    )

    assert held.status_code == 200 and held.json()["ok"] is True
    assert malformed.status_code == 422 and "not an audit anchor" in malformed.text
    assert cut.status_code == 200 and cut.json()["ok"] is False
    assert cut.json()["problem"].startswith("truncated: the anchor covers ")
