"""The main flows of the page in a real browser: ask, review the plan, approve or deny from the
inbox, watch the run, cancel it, and open it late."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Locator, Page, expect
from tests.trust.processes import set_delay
from tests.web.conftest import Pages, Site, ask, wait_until

RESTART_ALL = "restart nginx on all staging servers"
LIVE_MS = 30_000


def last_reply(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation").locator(".turn.reply").last


def inbox_item(page: Page, text: str) -> Locator:
    page.get_by_role("link", name=re.compile("^Approvals")).click()
    return page.locator(".inbox-item").filter(has_text=text)


def test_the_count_question_is_answered_in_the_page(pages: Pages) -> None:
    page = pages.open("vic")  # a viewer may read, not ask
    expect(page.get_by_role("textbox", name="Ask")).to_be_disabled()
    page = pages.open("alice")
    ask(page, "how many linux servers in staging")
    reply = last_reply(page)
    expect(reply).to_contain_text("5 Linux servers in staging")
    expect(reply.locator(".count-number")).to_have_text("5")
    expect(reply.locator(".chip")).to_contain_text(["os type: linux", "device type: server"])


def test_a_level_2_restart_is_approved_by_another_and_both_pages_follow_the_run(
    pages: Pages, site: Site
) -> None:
    for host in site.hosts:
        set_delay(host, 3)  # long enough to see it running on both pages
    alice = pages.open("alice")
    ask(alice, RESTART_ALL)
    card = last_reply(alice).locator("article.plan")
    expect(card).to_contain_text("5 hosts: 5 of 5 staging assets (100%)")
    card.get_by_text("Exact commands (5)").click()
    expect(card.locator("pre.command")).to_contain_text("app-01: systemctl restart -- nginx")
    for name in ("Approve", "Deny"):
        expect(card.get_by_role("button", name=name)).to_be_disabled()
    expect(card.get_by_role("button", name="Approve")).to_have_accessible_description(
        "needs another approver"
    )

    bob = pages.open("bob")
    item = inbox_item(bob, RESTART_ALL)
    expect(item).to_have_count(1)
    item.get_by_role("button", name="Approve").click()

    bob_run = bob.locator("section.run")
    alice_run = last_reply(alice).locator("section.run")
    for run in (bob_run, alice_run):
        expect(run).to_have_attribute("data-state", "running", timeout=LIVE_MS)
    for run in (bob_run, alice_run):
        expect(run).to_have_attribute("data-state", "succeeded", timeout=LIVE_MS)
        expect(run.get_by_role("status").first).to_contain_text("5 succeeded")
    expect(card.get_by_role("button", name="Approve")).to_have_count(0)
    for host in site.hosts:
        assert host.received("systemctl") == [["restart", "--", "nginx"]], host.name


def test_deny_asks_for_a_comment_and_every_page_shows_it(pages: Pages, site: Site) -> None:
    alice = pages.open("alice")
    ask(alice, "stop nginx on app-02")
    card = last_reply(alice).locator("article.plan")
    expect(card.get_by_role("button", name="Deny")).to_be_disabled()
    bob = pages.open("bob")
    item = inbox_item(bob, "stop nginx on app-02")
    item.get_by_role("button", name="Deny").click()
    confirm = item.get_by_role("button", name="Deny with this comment")
    confirm.click()  # no comment yet: refused in the page
    expect(item.get_by_role("status").last).to_have_text("Say why you deny it.")
    item.get_by_label("Why deny it? (required)").fill("not in the change window")
    confirm.click()
    expect(item).to_have_count(0)  # gone from the inbox
    expect(card).to_contain_text("Denied by bob")
    expect(card.locator(".comment")).to_have_text("not in the change window")
    expect(card.get_by_role("button")).to_have_count(0)
    assert site.hosts[1].received("systemctl") == []


def test_an_expired_approval_shows_its_state_and_no_buttons(pages: Pages, site: Site) -> None:
    alice = pages.open("alice", url=site.short_ttl_url)
    bob = pages.open("bob", url=site.short_ttl_url)
    ask(alice, "stop nginx on app-03")
    item = inbox_item(bob, "stop nginx on app-03")
    expect(item.get_by_role("button", name="Approve")).to_be_enabled()
    card = last_reply(alice).locator("article.plan")
    expect(card).to_have_attribute("data-state", "expired", timeout=LIVE_MS)
    expect(card).to_contain_text("Expired: nobody approved in time")
    expect(card.get_by_role("button")).to_have_count(0)
    expect(item).to_have_count(0, timeout=LIVE_MS)
    assert site.hosts[2].received("systemctl") == []


def test_a_run_is_cancelled_from_the_page(pages: Pages, site: Site) -> None:
    set_delay(site.hosts[3], 30)
    alice = pages.open("alice")
    ask(alice, "restart nginx on app-04")
    reply = last_reply(alice)
    reply.get_by_role("button", name="Approve").click()  # level 1: her own confirmation
    run = reply.locator("section.run")
    expect(run).to_have_attribute("data-state", "running", timeout=LIVE_MS)
    run.get_by_role("button", name="Cancel").click()
    expect(run).to_have_attribute("data-state", "cancelled", timeout=LIVE_MS)
    expect(run.locator(".rows .row[data-target='app-04']")).to_have_attribute(
        "data-state", "cancelled"
    )
    expect(run.get_by_role("button", name="Cancel")).to_have_count(0)


def test_a_late_page_replays_the_run_then_follows_it(pages: Pages, site: Site) -> None:
    for host in site.hosts[:2]:
        set_delay(host, 3)
    with site.client("alice") as alice, ThreadPoolExecutor(1) as pool:
        answer = alice.post("/requests", json={"text": "restart nginx on app-01 and app-02"}).json()
        execution_id = answer["execution"]["id"]
        # An immediate plan's approval answers when the run has ended: approve on the side.
        approving = pool.submit(
            alice.post, f"/approvals/{answer['approval']['ids'][0]}/approve", json={}
        )
        wait_until(
            lambda: alice.get(f"/executions/{execution_id}").json()["status"] == "running",
            what="the run to start",
        )
        # Opened while the run is going: it shows what happened before it came, then the rest.
        carol = pages.open("carol")
        carol.goto(f"{site.url}#/runs/{execution_id}")
        run = carol.locator("section.run")
        expect(run).to_have_attribute("data-state", "running")
        expect(run.locator(".rows .row[data-state='running']")).to_have_count(2)
        expect(run).to_have_attribute("data-state", "succeeded", timeout=LIVE_MS)
        expect(run.locator(".rows .row[data-state='succeeded']")).to_have_count(2)
        assert approving.result().status_code == 200
    # Opened after the end: everything from the store.
    vic = pages.open("vic")
    vic.goto(f"{site.url}#/runs/{execution_id}")
    late = vic.locator("section.run")
    expect(late).to_have_attribute("data-state", "succeeded")
    expect(late.get_by_role("status").first).to_contain_text("2 hosts, 2 units: 2 succeeded")
    expect(late.get_by_role("button", name="Cancel")).to_have_count(0)


def test_a_clarification_offers_buttons_and_follow_ups_keep_the_conversation(
    pages: Pages,
) -> None:
    page = pages.open("alice")
    ask(page, "check disk space on app-1")
    options = last_reply(page).get_by_role("group", name="Options")
    expect(options.get_by_role("button", name="app-01")).to_be_visible()
    options.get_by_role("button", name="app-01").click()
    reply = last_reply(page)
    expect(reply.locator("article.plan")).to_contain_text("staging: app-01")
    reply.get_by_role("button", name="Approve").click()
    expect(reply.locator(".bars")).to_contain_text("Disk use")
    ask(page, "and on app-02?")
    follow_up = last_reply(page)
    expect(follow_up.locator(".read-as")).to_contain_text("app-02")
    expect(follow_up.locator("article.plan")).to_contain_text("staging: app-02")
