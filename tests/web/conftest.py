"""The page in a real browser: Debian's Chromium driven by Playwright against a live
`opsconductor serve` over a store with real sshd hosts (and, for the fan-out, 200 `local`
assets). One store and one server serve every test of this folder, one browser each module;
each test opens its own browser contexts (fresh storage: nobody is signed in)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from tests.conftest import seed, users_with_tokens
from tests.connectors.fleet import CREDENTIAL, add_key_credential, fleet_settings, host_asset
from tests.sshhosts import SshHost, start_hosts, stop_hosts
from tests.trust.processes import Process, make_slow, process_env, serve, set_delay
from tests.web import marks

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.identity.models import Role

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
USERS = {
    "alice": Role.OPERATOR,
    "bob": Role.APPROVER,
    "carol": Role.APPROVER,
    "vic": Role.VIEWER,
    "root": Role.ADMIN,
}
SSH_HOSTS = 5  # five: a restart across five hosts needs a second person (level 2)
FANOUT_HOSTS = 200
# The second server's approvals of level 2 expire after this many seconds.
SHORT_TTL_S = 3


def fanout_assets(count: int) -> list[dict[str, object]]:
    """`local` assets: each runs its commands on this machine, so 200 cost no sshd."""
    return [
        {
            "name": f"fan-{i:03d}",
            "hostname": "localhost",
            "os_type": "linux",
            "device_type": "server",
            "environment": "fanout",
            "connection": {"protocol": "local"},
        }
        for i in range(1, count + 1)
    ]


@dataclass
class Site:
    """The live server the browser talks to, its users' tokens and its hosts."""

    url: str  # the page: http://127.0.0.1:PORT/
    tokens: dict[str, str]
    hosts: list[SshHost]
    settings: Settings
    short_ttl_url: str = ""  # a second server on the same store, whose approvals expire soon
    logs: list[Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # for a test's own server on this store

    @property
    def api(self) -> str:
        return self.url + "api/v1"

    def client(self, user: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return httpx.Client(base_url=self.api, headers=headers, timeout=60)

    def reset_hosts(self) -> None:
        for host in self.hosts:
            host.clear_received()
            (host.directory / "finished.jsonl").unlink(missing_ok=True)
            set_delay(host, 0)
            marks.make_marks_fail(host, False)


async def _prepare(settings: Settings, hosts: list[SshHost]) -> dict[str, str]:
    conductor = await OpsConductor.open(settings)
    try:
        tokens = await users_with_tokens(conductor, USERS)
        await add_key_credential(conductor, CREDENTIAL, hosts[0].client_key_path, hosts[0].username)
        staging = [host_asset(h) | {"environment": "staging"} for h in hosts]
        await seed(conductor, staging + fanout_assets(FANOUT_HOSTS))
    finally:
        await conductor.close()
    return tokens


def in_thread(work: Callable[[], T]) -> T:
    """`work()` on a thread of its own: pytest-asyncio may have a loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("web")
    hosts = start_hosts(base / "hosts", SSH_HOSTS, prefix="app")
    processes: list[Process] = []
    try:
        for host in hosts:
            make_slow(host)
            marks.install(host)
            set_delay(host, 0)
        settings = fleet_settings(base, hosts)
        tokens = in_thread(lambda: asyncio.run(_prepare(settings, hosts)))
        env = process_env(
            settings.home,
            None,
            OPSCONDUCTOR_KNOWN_HOSTS=str(settings.known_hosts_file),
            OPSCONDUCTOR_CATALOG_DIRS=str(marks.CATALOG),
        )
        main = serve(env, base / "serve.log")
        processes.append(main)
        ttl = json.dumps({"1": 900, "2": SHORT_TTL_S, "3": 3600})
        short = serve({**env, "OPSCONDUCTOR_APPROVAL_TTL_S": ttl}, base / "serve-short.log")
        processes.append(short)
        yield Site(
            url=f"http://127.0.0.1:{main.port}/",
            tokens=tokens,
            hosts=hosts,
            settings=settings,
            short_ttl_url=f"http://127.0.0.1:{short.port}/",
            logs=[base / "serve.log", base / "serve-short.log"],
            env=env,
        )
    finally:
        for process in processes:
            process.stop()
        stop_hosts(hosts)


# Module scope, not session: Playwright's sync API keeps an event loop running on this thread
# while it is started, and the async tests of other folders need the thread without one.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `bash scripts/ensure-chromium.sh` (make test) adds it")
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Playwright gives each launch a fresh, temporary user-data dir of its own.
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
    )
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class Pages:
    """Opens pages, each in a context of its own (as another person's browser would be),
    and records every error the page's scripts raise."""

    browser: Browser
    site: Site
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, user: str | None = None, *, url: str | None = None, **options: Any) -> Page:
        context = self.browser.new_context(**options)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{user}: {error}"))
        page.goto(url or self.site.url)
        if user is not None:
            sign_in(page, self.site.tokens[user])
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, site: Site) -> Iterator[Pages]:
    site.reset_hosts()
    opened = Pages(browser, site)
    try:
        yield opened
    finally:
        opened.close()
    assert not opened.errors, opened.errors


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def ask(page: Page, text: str) -> None:
    """Ask in the chat and wait for the answer (the page takes one question at a time)."""
    replies = page.get_by_role("log", name="Conversation").locator(".turn.reply")
    before = replies.count()
    box = page.get_by_role("textbox", name="Ask")
    box.fill(text)
    box.press("Enter")
    expect(replies).to_have_count(before + 1)
    expect(replies.last).not_to_have_attribute("aria-busy", "true", timeout=30_000)


def wait_until(check: Callable[[], bool], timeout_s: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)
