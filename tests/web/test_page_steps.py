"""What the run view offers while a run is going on, in a real browser: at level 3 the next
step's approval inside the running job (never decidable by the requester), Resolve (retry /
skip / abort) of a change that a killed server left `interrupted`, and the "changed" and
"failed" filters. The changes are the test catalog's harmless marks (tests/web/marks.py)."""

from __future__ import annotations

import contextlib
import threading

import httpx
from playwright.sync_api import Locator, Page, expect
from tests.trust.processes import serve, set_delay
from tests.web import marks
from tests.web.conftest import Pages, Site, ask, wait_until

LIVE_MS = 30_000
RECOVERY_S = 2 + 15  # the servers' lease (tests/trust FAST_LEASES), and a margin for the sweep


def last_reply(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation").locator(".turn.reply").last


def rows(run: Locator) -> Locator:
    return run.locator(".rows .row")


def shown_units(run: Locator) -> list[tuple[str, str, str]]:
    """(host, step, state) of each row the run view draws now."""
    return [
        (
            row.get_attribute("data-target") or "",
            row.locator("[role=cell]").nth(1).inner_text(),
            row.get_attribute("data-state") or "",
        )
        for row in rows(run).all()
    ]


def test_level_3_asks_for_each_step_inside_the_running_job(pages: Pages, site: Site) -> None:
    host = site.hosts[0]
    alice = pages.open("alice")
    ask(alice, f"purge the web test markers on {host.name}")
    card = last_reply(alice).locator("article.plan")
    expect(card.locator("[data-fact=approval]")).to_contain_text("level 3")
    expect(card.locator(".steps li")).to_have_count(2)
    expect(card.get_by_role("button", name="Approve")).to_be_disabled()
    expect(card.get_by_role("button", name="Approve")).to_have_accessible_description(
        "needs another approver"
    )
    execution_id = card.get_attribute("data-execution")

    # Carol opens the run before anything ran: the first step's approval is in it.
    carol = pages.open("carol")
    carol.goto(f"{site.url}#/runs/{execution_id}")
    run = carol.locator("section.run")
    expect(run).to_have_attribute("data-state", "pending_approval")
    inside = run.locator(".run-approval article.plan")
    expect(inside.locator(".approvals li[data-status=pending]")).to_contain_text(
        "step two_marks.first"
    )
    assert marks.started(host) == []
    inside.get_by_role("button", name="Approve").click()

    # The first step ran, once; the second waits for its own approval, shown in the run.
    expect(run.locator(".rows .row[data-state=succeeded]")).to_have_count(1, timeout=LIVE_MS)
    expect(run).to_have_attribute("data-state", "pending_approval", timeout=LIVE_MS)
    expect(inside.locator(".approvals li[data-status=pending]")).to_contain_text(
        "step two_marks.second", timeout=LIVE_MS
    )
    assert marks.started(host) == [["first"]]

    # The requester's own page follows the run and shows the step's approval, not hers to give.
    alice_run = last_reply(alice).locator("section.run")
    expect(alice_run).to_have_attribute("data-state", "pending_approval", timeout=LIVE_MS)
    hers = alice_run.locator(".run-approval article.plan")
    expect(hers.locator(".approvals li[data-status=pending]")).to_contain_text(
        "step two_marks.second", timeout=LIVE_MS
    )
    expect(hers.get_by_role("button", name="Approve")).to_be_disabled()
    expect(hers.get_by_role("button", name="Deny")).to_be_disabled()
    expect(hers).to_contain_text("needs another approver")
    with site.client("alice") as client:
        [pending] = [
            a
            for a in client.get(f"/executions/{execution_id}/plan").json()["approvals"]
            if a["status"] == "pending"
        ]
        refused = client.post(f"/approvals/{pending['id']}/approve", json={})
    assert refused.status_code == 403, refused.text
    assert marks.started(host) == [["first"]]

    # Bob, in his own run view, approves the second step: every page sees the run end.
    bob = pages.open("bob")
    bob.goto(f"{site.url}#/runs/{execution_id}")
    bob_run = bob.locator("section.run")
    bob_run.locator(".run-approval article.plan").get_by_role("button", name="Approve").click()
    for page_run in (bob_run, run, alice_run):
        expect(page_run).to_have_attribute("data-state", "succeeded", timeout=LIVE_MS)
        expect(page_run.locator(".rows .row[data-state=succeeded]")).to_have_count(2)
        expect(page_run.locator(".run-approval article.plan")).to_have_count(0)
    assert marks.started(host) == [["first"], ["second"]]
    assert marks.finished(host) == [["first"], ["second"]]


def ask_and_lose_the_answer(url: str, token: str, text: str) -> threading.Thread:
    """Post a confirmed request to a server this test kills: its answer never comes back."""

    def post() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{url}/requests",
                json={"text": text, "confirm": True},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def interrupt_marks(site: Site, hosts: list[int]) -> dict[int, str]:
    """One mark per host in `hosts` (indexes), each in flight on a server killed with SIGKILL;
    the site's server, alive on the same store, finds them `interrupted`. Their ids by host."""
    doomed = serve(site.env, site.settings.home / "doomed.log")
    try:
        for index in hosts:
            set_delay(site.hosts[index], 5)
            ask_and_lose_the_answer(
                doomed.url,
                site.tokens["alice"],
                f"modify the web test marker on {site.hosts[index].name}",
            )
        wait_until(
            lambda: all(marks.started(site.hosts[i]) for i in hosts), what="the marks started"
        )
    finally:
        doomed.kill()
    for index in hosts:
        set_delay(site.hosts[index], 0)
    ids: dict[int, str] = {}
    with site.client("root") as root:
        found = root.get("/executions", params={"status": "running", "limit": 50}).json()["data"]
        for index in hosts:
            name = site.hosts[index].name
            [ids[index]] = [e["id"] for e in found if e["request_text"].endswith(name)]

        def all_interrupted() -> bool:
            states = [root.get(f"/executions/{i}").json()["status"] for i in ids.values()]
            return all(state == "interrupted" for state in states)

        wait_until(all_interrupted, RECOVERY_S, "the recovery sweep to interrupt the marks")
    return ids


def test_an_interrupted_change_is_resolved_from_the_page(pages: Pages, site: Site) -> None:
    retried, skipped, aborted = 2, 3, 4
    ids = interrupt_marks(site, [retried, skipped, aborted])

    # Nobody who may not decide sees the buttons.
    vic = pages.open("vic")
    vic.goto(f"{site.url}#/runs/{ids[retried]}")
    watched = vic.locator("section.run")
    expect(watched).to_have_attribute("data-state", "interrupted")
    expect(watched.locator(".run-actions")).to_contain_text("waiting for an approver")
    for name in ("Retry", "Skip", "Abort"):
        expect(watched.get_by_role("button", name=name)).to_have_count(0)

    alice = pages.open("alice")  # the requester of a level-1 plan may decide
    bob = pages.open("bob")  # and so may an approver
    decided: dict[int, Locator] = {}
    for index, page, button in (
        (retried, alice, "Retry"),
        (skipped, bob, "Skip"),
        (aborted, alice, "Abort"),
    ):
        page.goto(f"{site.url}#/runs/{ids[index]}")
        run = page.locator(f"section.run[data-execution='{ids[index]}']")
        expect(run).to_have_attribute("data-state", "interrupted")
        expect(rows(run)).to_have_attribute("data-state", "interrupted")
        run.get_by_role("button", name=button).click()
        if index == retried:
            expect(run).to_have_attribute("data-state", "succeeded", timeout=LIVE_MS)
            expect(rows(run)).to_have_attribute("data-state", "succeeded")
        elif index == skipped:
            expect(run).to_have_attribute("data-state", "failed", timeout=LIVE_MS)
            expect(rows(run)).to_have_attribute("data-state", "skipped")
        else:
            expect(run).to_have_attribute("data-state", "cancelled", timeout=LIVE_MS)
        expect(run.get_by_role("status").first).to_contain_text("Finished")
        for name in ("Retry", "Skip", "Abort"):
            expect(run.get_by_role("button", name=name)).to_have_count(0)
        decided[index] = run

    # The page that only watched sees the retry's end too.
    expect(watched).to_have_attribute("data-state", "succeeded", timeout=LIVE_MS)
    assert marks.started(site.hosts[retried]) == [["single"], ["single"]]  # once more, by Retry
    assert marks.started(site.hosts[skipped]) == [["single"]]
    assert marks.started(site.hosts[aborted]) == [["single"]]


def test_the_changed_and_failed_filters_show_only_those_units(pages: Pages, site: Site) -> None:
    good, bad = site.hosts[0], site.hosts[1]
    marks.make_marks_fail(bad)
    alice = pages.open("alice")
    ask(alice, f"check disk space on {good.name} and {bad.name} then modify the web test marker")
    reply = last_reply(alice)
    expect(reply.locator("article.plan .steps li")).to_have_count(2)
    reply.get_by_role("button", name="Approve").click()  # level 1: her own confirmation
    run = reply.locator("section.run")
    expect(run).to_have_attribute("data-done", "true", timeout=LIVE_MS)
    check, mark = "1.linux_disk_usage", "2.webtests_mark"
    expect(rows(run)).to_have_count(4)
    assert sorted(shown_units(run)) == [
        (good.name, check, "succeeded"),
        (good.name, mark, "succeeded"),
        (bad.name, check, "succeeded"),
        (bad.name, mark, "failed"),
    ]
    run.get_by_label("changed").check()
    expect(rows(run)).to_have_count(1)
    assert shown_units(run) == [(good.name, mark, "succeeded")]  # not the read-only checks
    run.get_by_label("failed").check()
    expect(rows(run)).to_have_count(1)
    assert shown_units(run) == [(bad.name, mark, "failed")]
    run.get_by_label("all").check()
    expect(rows(run)).to_have_count(4)
    assert marks.started(good) == [["single"]] and marks.started(bad) == [["single"]]
