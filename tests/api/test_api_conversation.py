"""`conversation_id` in POST /requests: follow-ups over HTTP, per user, validated."""

from __future__ import annotations

from tests.api.harness import Api

from opsconductor.identity.models import Role


async def test_a_follow_up_over_http_says_how_it_was_read(api: Api) -> None:
    first = await api.ask(
        Role.OPERATOR, "restart nginx on web-prod-02", dry_run=True, conversation_id="ops-1"
    )
    assert first["conversation_id"] == "ops-1"
    follow = await api.ask(
        Role.OPERATOR, "and on web-prod-01?", dry_run=True, conversation_id="ops-1"
    )
    assert follow["decision"]["read_as"] == "restart nginx on web-prod-01."
    assert follow["plan"]["steps"][0]["targets"] == ["web-prod-01"]
    other_user = await api.ask(
        Role.APPROVER, "and on web-prod-01?", dry_run=True, conversation_id="ops-1"
    )
    assert other_user["decision"]["read_as"] is None


async def test_a_bad_conversation_id_is_refused(api: Api) -> None:
    for bad in ["", "a" * 65, "../x", "x y", "x\u0000"]:
        response = await api.client.post(
            "/requests",
            json={"text": "how many assets do we have", "conversation_id": bad},
            headers=api.headers(Role.OPERATOR),
        )
        assert response.status_code == 422, (bad, response.text)
