"""`make screenshots`: each main view of the page, drawn by Debian's Chromium over a throwaway
store with the demo inventory, written as PNG files to the folder given (docs/screenshots).

    PYTHONPATH=. .venv/bin/python -m tests.web.screenshots docs/screenshots
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import yaml
from playwright.sync_api import Locator, Page, expect, sync_playwright
from tests.conftest import seed
from tests.trust.processes import process_env, serve
from tests.web.conftest import CHROMIUM, CHROMIUM_FLAGS, ask, sign_in

from opsconductor.app import OpsConductor
from opsconductor.config import load_settings
from opsconductor.identity import repository as identity
from opsconductor.identity.models import Role

DEMO = Path(__file__).resolve().parents[2] / "src" / "opsconductor" / "demo" / "inventory.yaml"
WIDE = {"width": 1280, "height": 860}
NARROW = {"width": 320, "height": 640}


async def prepare(home: Path) -> dict[str, str]:
    conductor = await OpsConductor.open(load_settings(home=home))
    tokens = {}
    try:
        async with conductor.db.session() as session:
            for name, role in {"alice": Role.OPERATOR, "bob": Role.APPROVER}.items():
                await identity.create_user(session, name, role, actor="screenshots")
                _, tokens[name] = await identity.create_token(session, name, actor="screenshots")
        await seed(conductor, yaml.safe_load(DEMO.read_text())["assets"])
    finally:
        await conductor.close()
    return tokens


def last_reply(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation").locator(".turn.reply").last


def shoot(out: Path, url: str, tokens: dict[str, str]) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        alice = browser.new_context(viewport=WIDE).new_page()
        alice.goto(url)
        alice.screenshot(path=out / "sign-in.png")
        sign_in(alice, tokens["alice"])
        ask(alice, "how many linux servers in production")
        expect(last_reply(alice).locator(".count")).to_be_visible()
        ask(alice, "check disk space on ops-console")
        last_reply(alice).get_by_role("button", name="Approve").click()
        run = alice.locator("section.run").last
        expect(run).to_have_attribute("data-state", "succeeded")
        execution_id = run.get_attribute("data-execution")
        ask(
            alice,
            "restart nginx on web-prod-01, web-prod-02, app-prod-01, app-prod-02 and db-prod-01",
        )
        expect(last_reply(alice).locator("article.plan")).to_be_visible()
        alice.wait_for_timeout(300)
        alice.screenshot(path=out / "chat.png", full_page=True)
        bob = browser.new_context(viewport=WIDE).new_page()
        bob.goto(url)
        sign_in(bob, tokens["bob"])
        bob.get_by_role("link", name="Approvals", exact=False).click()
        expect(bob.locator(".inbox-item").first).to_be_visible()
        bob.wait_for_timeout(300)
        bob.screenshot(path=out / "approvals.png", full_page=True)
        for view, name in [
            (f"runs/{execution_id}", "run"),
            ("history", "history"),
            ("audit", "audit"),
            ("inventory", "inventory"),
            ("inventory/ops-console", "asset"),
        ]:
            bob.goto(f"{url}#/{view}")
            expect(bob.locator("#view h1")).to_be_visible()
            if name == "audit":
                bob.get_by_role("button", name="Verify").click()
                expect(bob.locator(".verdict")).to_contain_text("intact")
            bob.wait_for_timeout(500)
            bob.screenshot(path=out / f"{name}.png")
        dark = browser.new_context(viewport=WIDE, color_scheme="dark").new_page()
        dark.goto(url)
        sign_in(dark, tokens["bob"])
        dark.goto(f"{url}#/runs/{execution_id}")
        expect(dark.locator("section.run")).to_have_attribute("data-state", "succeeded")
        dark.wait_for_timeout(300)
        dark.screenshot(path=out / "run-dark.png")
        phone = browser.new_context(viewport=NARROW).new_page()
        phone.goto(url)
        sign_in(phone, tokens["alice"])
        ask(
            phone,
            "restart nginx on web-prod-01, web-prod-02, app-prod-01, app-prod-02 and db-prod-01",
        )
        expect(last_reply(phone).locator("article.plan")).to_be_visible()
        phone.wait_for_timeout(300)
        phone.screenshot(path=out / "chat-320px.png", full_page=True)
        browser.close()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp:
        home = Path(temp) / "home"
        tokens = asyncio.run(prepare(home))
        server = serve(process_env(home, None), Path(temp) / "serve.log")
        try:
            shoot(out, f"http://127.0.0.1:{server.port}/", tokens)
        finally:
            server.stop()
    for path in sorted(out.glob("*.png")):
        print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
