"""What the web page needs of the API, over real HTTP on both databases: the feed of all
executions (one SSE stream, opened with a stream ticket or the bearer header, replaying from a
cursor), the plan card of an execution, `/me`, the executions' text filter, and the page
itself served with its security headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.api.harness import Api
from tests.api.live import serve_live, stream_ticket

from opsconductor.identity.models import Role

LEVEL_2 = "reboot web-prod-01"


@pytest.fixture
async def live(api: Api) -> AsyncIterator[str]:
    async with serve_live(api.app) as url:
        yield url


class FeedReader:
    """The feed's SSE messages, parsed, as a background task collects them."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options
        self.messages: list[dict[str, Any]] = []
        self.status: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FeedReader:
        self._task = asyncio.create_task(self._read())
        await self.wait(lambda m: m["type"] == "ready")
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("GET", f"{self.url}/feed", **self.options) as response,
        ):
            self.status = response.status_code
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    self.messages.append(json.loads(line[6:]))

    async def wait(self, matches: Any, timeout_s: float = 20) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                for message in self.messages:
                    if matches(message):
                        return message
                assert self._task is not None
                if self._task.done():
                    self._task.result()
                    raise AssertionError(f"the feed ended ({self.status}): {self.messages}")
                await asyncio.sleep(0.05)


async def test_the_feed_carries_every_execution_from_now_with_a_ticket(api: Api, live: str) -> None:
    ticket = (await stream_ticket(api, Role.VIEWER))["ticket"]
    async with FeedReader(live, params={"ticket": ticket}) as feed:
        asked = await api.ask(Role.OPERATOR, LEVEL_2)
        execution_id = asked["execution"]["id"]
        approval_id = asked["approval"]["ids"][0]
        required = await feed.wait(
            lambda m: m["type"] == "approval_required" and m["execution_id"] == execution_id
        )
        assert required["data"]["approval_ids"] == [approval_id]
        denied = await api.client.post(
            f"/approvals/{approval_id}/deny",
            json={"comment": "not today"},
            headers=api.headers(Role.APPROVER),
        )
        assert denied.status_code == 200, denied.text
        complete = await feed.wait(
            lambda m: m["type"] == "complete" and m["execution_id"] == execution_id
        )
    assert complete["data"]["state"] == "rejected"
    assert "output" not in complete["data"]  # the feed names changes; a run's own stream has more
    ids = [m["id"] for m in feed.messages if m["id"] is not None]
    assert ids == sorted(set(ids))


async def test_the_feed_replays_after_a_cursor_and_takes_the_bearer_header(
    api: Api, live: str
) -> None:
    asked = await api.ask(Role.OPERATOR, LEVEL_2)
    execution_id = asked["execution"]["id"]
    async with FeedReader(live, params={"after": 0}, headers=api.headers(Role.VIEWER)) as feed:
        replayed = await feed.wait(lambda m: m.get("execution_id") == execution_id)
    assert replayed["type"] == "approval_required"
    ready = feed.messages[0]
    assert ready == {"id": None, "type": "ready", "cursor": 0}


@pytest.mark.parametrize("case", ["none", "bad", "foreign", "spent"])
async def test_the_feed_refuses_without_a_valid_credential(api: Api, live: str, case: str) -> None:
    params: dict[str, str] = {}
    if case == "bad":
        params["ticket"] = "ost_" + "A" * 43
    elif case in {"foreign", "spent"}:
        asked = await api.ask(Role.OPERATOR, "how many assets do we have")
        for_one = case == "foreign"
        made = await stream_ticket(api, Role.VIEWER, asked["execution"]["id"] if for_one else None)
        params["ticket"] = made["ticket"]
        if case == "spent":
            async with FeedReader(live, params=params):
                pass
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{live}/feed", params=params)
    assert response.status_code == 401, response.text
    assert "detail" in response.json()


async def test_the_plan_card_has_commands_environments_and_approvals(api: Api) -> None:
    asked = await api.ask(
        Role.OPERATOR, "restart nginx on web-prod-01, web-prod-02 and app-prod-01"
    )
    execution_id = asked["execution"]["id"]
    response = await api.client.get(
        f"/executions/{execution_id}/plan", headers=api.headers(Role.VIEWER)
    )
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["requested_by"] == "alice"
    assert card["host_count"] == 3
    assert card["environments"] == [
        {
            "environment": "production",
            "hosts": ["app-prod-01", "web-prod-01", "web-prod-02"],
            "of": 4,
        }
    ]
    (step,) = card["steps"]
    assert "web-prod-01: systemctl restart -- nginx" in step["commands"]
    assert [a["status"] for a in card["approvals"]] == ["pending"]
    assert card["reversible"] is True and card["risk_reasons"]
    missing = await api.client.get("/executions/nope/plan", headers=api.headers(Role.VIEWER))
    assert missing.status_code == 404


async def test_me_and_the_text_filter(api: Api) -> None:
    me = await api.client.get("/me", headers=api.headers(Role.OPERATOR))
    assert me.json() == {
        "name": "alice",
        "role": "operator",
        "permissions": ["read", "ask", "confirm_own", "cancel_own"],
    }
    assert (await api.client.get("/me")).status_code == 401
    await api.ask(Role.OPERATOR, "how many assets do we have")
    await api.ask(Role.OPERATOR, LEVEL_2)
    found = await api.client.get(
        "/executions", params={"q": "REBOOT"}, headers=api.headers(Role.VIEWER)
    )
    assert [e["request_text"] for e in found.json()["data"]] == [LEVEL_2]
    none = await api.client.get(
        "/executions", params={"q": "100%_"}, headers=api.headers(Role.VIEWER)
    )
    assert none.json()["count"] == 0


async def test_the_page_is_served_with_its_security_headers(api: Api) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://testserver"
    ) as client:
        page = await client.get("/")
        script = await client.get("/static/js/app.js")
        style = await client.get("/static/app.css")
    assert page.status_code == 200 and "<title>OpsConductor</title>" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert style.status_code == 200
