"""Hostile input is refused at the edge with a 4xx naming the field, and writes nothing: control
characters in ids, filters and bodies; out-of-range event ids. (Import files: see
test_hostile_imports.py.) Each test sends many cases to one application, so that the matrix
stays quick on both databases; a failure lists every case that went wrong."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from tests.api.harness import Api

from opsconductor.identity.models import Role
from opsconductor.store.tables import ApprovalRow, AssetRow, AuditEventRow, ExecutionRow

NUL = "\x00"
REBOOT = "reboot web-prod-01"  # a level-2 plan that waits for an approver


async def counts(api: Api) -> dict[str, int]:
    """Rows of the tables a hostile request could write to, and the pending approvals."""
    async with api.conductor.db.session() as session:
        found = {}
        for table in (AssetRow, ExecutionRow, ApprovalRow, AuditEventRow):
            total = await session.scalar(select(func.count()).select_from(table))
            found[table.__tablename__] = int(total or 0)
        pending = select(func.count()).where(ApprovalRow.status == "pending")
        found["pending approvals"] = int(await session.scalar(pending) or 0)
    return found


async def pending_reboot(api: Api) -> tuple[str, str]:
    """The approval id and execution id of a plan waiting for an approver."""
    asked = await api.ask(Role.OPERATOR, REBOOT)
    return asked["approval"]["ids"][0], asked["execution"]["id"]


def problem(response: httpx.Response, field: str, words: str = "") -> str | None:
    """Why `response` is not a 422 whose detail names `field` (and says `words`); None if it is."""
    if response.status_code != 422:
        return f"{response.status_code}: {response.text[:200]}"
    detail: str = response.json()["detail"]
    if field not in detail or words not in detail:
        return f"detail does not name {field!r} / say {words!r}: {detail}"
    return None


def check(problems: dict[str, str | None]) -> None:
    failed = {case: why for case, why in problems.items() if why is not None}
    assert not failed, "\n".join(f"{case}: {why}" for case, why in failed.items())


# --- control characters in path ids --------------------------------------------------------

PATHS = [
    ("POST", "/approvals/{bad}/approve", {}, "approval_id"),
    ("POST", "/approvals/{bad}/deny", {"comment": "no"}, "approval_id"),
    ("POST", "/executions/{bad}/cancel", {}, "execution_id"),
    ("GET", "/executions/{bad}", None, "execution_id"),
    ("GET", "/executions/{bad}/events", None, "execution_id"),
    ("GET", "/assets/{bad}", None, "name"),
    ("PATCH", "/assets/{bad}", {"owner": "x"}, "name"),
    ("DELETE", "/assets/{bad}", None, "name"),
    ("GET", "/tools/{bad}", None, "name"),
]
BAD_IN_PATHS = ["web-prod-01%00", "%00", "a%01b", "x%7F", "a%C2%85b", "a%E2%80%A8b"]


async def test_control_characters_in_path_ids_are_refused(api: Api) -> None:
    _, execution_id = await pending_reboot(api)
    before = await counts(api)
    problems = {}
    for method, path, body, field in PATHS:
        for bad in BAD_IN_PATHS:
            url = path.format(bad=bad)
            response = await api.client.request(
                method, url, json=body, headers=api.headers(Role.ADMIN)
            )
            problems[f"{method} {url}"] = problem(response, f"path.{field}", "control characters")
    check(problems)
    assert await counts(api) == before
    # The same routes with an id that only starts like a real one are still plain 404s.
    missing = await api.client.get(f"/executions/{execution_id}x", headers=api.headers("viewer"))
    assert missing.status_code == 404


async def test_an_overlong_path_id_is_refused(api: Api) -> None:
    response = await api.client.get("/executions/" + "e" * 300, headers=api.headers("viewer"))
    assert problem(response, "path.execution_id", "at most 255 characters") is None


# --- control characters in query filters ---------------------------------------------------

FILTERS = [
    ("/executions", "requester"),
    ("/approvals", "execution_id"),
    ("/audit", "actor"),
    ("/audit", "entity"),
    ("/audit", "entity_type"),
    ("/assets", "q"),
    ("/assets", "environment"),
    ("/assets", "tag"),
    ("/tools", "category"),
]
BAD_IN_QUERIES = [f"alice{NUL}", NUL, "\n", "a\tb", "a\x1b[31mb", "a\x7f"]


async def test_control_characters_in_query_filters_are_refused(api: Api) -> None:
    viewer = api.headers("viewer")
    problems = {}
    for path, param in FILTERS:
        for bad in BAD_IN_QUERIES:
            response = await api.client.get(path, params={param: bad}, headers=viewer)
            problems[f"{path}?{param}={bad!r}"] = problem(
                response, f"query.{param}", "control characters"
            )
    check(problems)


async def test_clean_filters_still_work(api: Api) -> None:
    viewer = api.headers("viewer")
    found = await api.client.get(
        "/assets", params={"q": "web", "tag": "web", "environment": "production"}, headers=viewer
    )
    assert found.status_code == 200 and found.json()["count"] == 2
    none = await api.client.get("/executions", params={"requester": "nobody"}, headers=viewer)
    assert none.status_code == 200 and none.json()["count"] == 0
    accented = await api.client.get("/audit", params={"actor": "zoë ünïcode"}, headers=viewer)
    assert accented.status_code == 200 and accented.json()["count"] == 0


# --- control characters in bodies ----------------------------------------------------------

ASSET = {"name": "lab-01", "os_type": "linux", "device_type": "server"}
ASSET_FIELDS: list[tuple[str, Any]] = [
    ("name", f"lab{NUL}01"),
    ("hostname", f"lab{NUL}.example"),
    ("ip_address", f"10.0.0.1{NUL}"),
    ("os_version", f"Ubuntu{NUL}"),
    ("os_version", "Ubuntu\x1b[2J"),
    ("environment", f"lab{NUL}"),
    ("owner", f"Lab{NUL}Team"),
    ("owner", "Lab\nTeam"),
    ("criticality", f"high{NUL}"),
    ("description", f"a{NUL}b"),
    ("description", "a\x07b"),
    ("tags", ["ok", f"b{NUL}d"]),
    ("connection", {"username": f"root{NUL}"}),
    ("connection", {"credential": f"lab{NUL}"}),
]


async def test_control_characters_in_asset_bodies_are_refused(api: Api) -> None:
    admin = api.headers(Role.ADMIN)
    before = await counts(api)
    problems = {}
    for field, value in ASSET_FIELDS:
        created = await api.client.post("/assets", json={**ASSET, field: value}, headers=admin)
        problems[f"POST {field}={value!r}"] = problem(created, field)
        if field != "name":  # the name is the path, not a field to change
            patched = await api.client.patch(
                "/assets/web-prod-01", json={field: value}, headers=admin
            )
            problems[f"PATCH {field}={value!r}"] = problem(patched, field)
    check(problems)
    assert await counts(api) == before
    kept = (await api.client.get("/assets/web-prod-01", headers=admin)).json()
    assert kept["owner"] == "Web Team" and kept["os_version"] == "Ubuntu 22.04"


async def test_a_description_keeps_tabs_and_line_breaks(api: Api) -> None:
    text = "line one\r\n\tline two"
    created = await api.client.post(
        "/assets", json={**ASSET, "description": text}, headers=api.headers(Role.ADMIN)
    )
    assert created.status_code == 201, created.text
    assert created.json()["description"] == text


BAD_COMMENTS = [f"fine{NUL}", "ok\x1b[31m", "a\x0bb", "a\x85b"]


async def test_control_characters_in_decisions_and_cancels_are_refused(api: Api) -> None:
    approval_id, execution_id = await pending_reboot(api)
    before = await counts(api)
    bob, alice = api.headers(Role.APPROVER), api.headers(Role.OPERATOR)
    problems = {}
    for comment in BAD_COMMENTS:
        for action in ("approve", "deny"):
            response = await api.client.post(
                f"/approvals/{approval_id}/{action}", json={"comment": comment}, headers=bob
            )
            problems[f"{action} {comment!r}"] = problem(response, "body.comment")
        cancel = await api.client.post(
            f"/executions/{execution_id}/cancel", json={"reason": comment}, headers=alice
        )
        problems[f"cancel {comment!r}"] = problem(cancel, "body.reason")
    check(problems)
    assert await counts(api) == before
    state = (await api.client.get(f"/executions/{execution_id}", headers=bob)).json()["status"]
    assert state == "pending_approval"


async def test_a_comment_with_line_breaks_is_taken(api: Api) -> None:
    approval_id, _ = await pending_reboot(api)
    response = await api.client.post(
        f"/approvals/{approval_id}/deny",
        json={"comment": "not today:\r\n\tfreeze week"},
        headers=api.headers(Role.APPROVER),
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "rejected"
    async with api.conductor.db.session() as session:
        comment = await session.scalar(select(ApprovalRow.comment))
    assert comment == "not today:\r\n\tfreeze week"


async def test_control_characters_in_request_text_are_refused(api: Api) -> None:
    before = await counts(api)
    problems = {}
    for text in [f"how many assets{NUL}", f"reboot{NUL}web-prod-01", "list\x08", f"{NUL}"]:
        for options in ({}, {"dry_run": True}):
            response = await api.client.post(
                "/requests", json={"text": text, **options}, headers=api.headers(Role.OPERATOR)
            )
            problems[f"{text!r} {options}"] = problem(response, "body.text", "control characters")
    check(problems)
    assert await counts(api) == before
    await api.ask(Role.OPERATOR, "how many\tassets\r\ndo we have?\n")  # asserts a 200


# --- event ids -----------------------------------------------------------------------------

BAD_EVENT_IDS = [str(2**63), str(2**64 + 5), "-1", "abc", "1e3", "0x10", "9" * 5000, ""]


async def test_out_of_range_event_ids_are_refused(api: Api) -> None:
    # An ended run, so that an id let through shows as a 200 stream that ends, not a hang.
    asked = await api.ask(Role.OPERATOR, "how many assets do we have")
    execution_id = asked["execution"]["id"]
    path, viewer = f"/executions/{execution_id}/events", api.headers("viewer")
    problems = {}
    for value in BAD_EVENT_IDS:
        after = await api.client.get(path, params={"after": value}, headers=viewer)
        problems[f"after={value[:30]}"] = problem(after, "query.after")
        header = await api.client.get(path, headers={**viewer, "Last-Event-ID": value})
        problems[f"Last-Event-ID: {value[:30]}"] = problem(header, "header.last-event-id")
    check(problems)


async def test_the_largest_event_id_is_taken(api: Api) -> None:
    asked = await api.ask(Role.OPERATOR, "how many assets do we have")
    execution_id = asked["execution"]["id"]
    path, viewer = f"/executions/{execution_id}/events", api.headers("viewer")
    top = str(2**63 - 1)
    for request in ({"params": {"after": top}}, {"headers": {**viewer, "Last-Event-ID": top}}):
        response = await api.client.get(path, **{"headers": viewer, **request})
        assert response.status_code == 200
        assert "event:" not in response.text  # nothing after that id; the ended run's stream ends
