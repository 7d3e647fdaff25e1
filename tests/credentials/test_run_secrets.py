"""A run's secrets, on SQLite and PostgreSQL: every credential opened once for the run, used
for logins and masked everywhere; an unreadable one fails its logins with the reason."""

from __future__ import annotations

import asyncio

import pytest

from opsconductor.app import OpsConductor
from opsconductor.credentials.errors import CredentialNotFound, CredentialUnreadable
from opsconductor.credentials.masking import MASK
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.repository import open_credentials, put_credential
from opsconductor.credentials.run_secrets import OpenedCredentials, RunSecrets
from opsconductor.credentials.vault import Vault

WEB = Secret(CredentialKind.PASSWORD, "deploy", password="web-Password-2026")
DB = Secret(CredentialKind.PASSWORD, "postgres", password="db-Password-2026")
FOREIGN = Secret(CredentialKind.PASSWORD, "old", password="sealed-under-another-key")


async def test_every_credential_opened_once_and_masked(conductor: OpsConductor) -> None:
    vault = Vault.from_settings(conductor.settings)
    async with conductor.db.session() as session:
        await put_credential(session, vault, name="web", secret=WEB, actor="t")
        await put_credential(session, vault, name="db", secret=DB, actor="t")
        await put_credential(session, Vault(bytes(32)), name="foreign", secret=FOREIGN, actor="t")
    loads = 0

    async def load() -> OpenedCredentials:
        nonlocal loads
        loads += 1
        async with conductor.db.session() as session:
            return await open_credentials(session, lambda: vault)

    secrets = RunSecrets(load)
    logins = await asyncio.gather(*(secrets.login("web") for _ in range(50)))
    assert loads == 1 and all(login == WEB for login in logins)
    masker = await secrets.masker()
    assert loads == 1
    assert masker(f"{WEB.password} {DB.password}") == f"{MASK} {MASK}"  # db: never logged in
    assert await secrets.login(None) is None
    with pytest.raises(CredentialUnreadable, match="foreign"):
        await secrets.login("foreign")
    with pytest.raises(CredentialNotFound):
        await secrets.login("nope")
    assert "Password" not in repr(secrets) and "Password" not in repr(await load())


async def test_a_store_without_credentials_never_needs_the_key(conductor: OpsConductor) -> None:
    def no_vault() -> Vault:
        raise AssertionError("the key was asked for")

    async with conductor.db.session() as session:
        opened = await open_credentials(session, no_vault)
    assert opened.secrets == {} and opened.unreadable == {}
    masker = await RunSecrets().masker()
    assert masker.empty and masker("anything") == "anything"


async def test_hosts_waiting_for_the_one_load_all_go_on_together() -> None:
    """Fifty hosts ask for the masker and a login while the credentials load: the load runs
    once and every host goes on within the same few event-loop turns (a lock would release
    them one turn apart, so the last host would start connecting fifty turns late)."""
    release = asyncio.Event()
    loads = 0

    async def load() -> OpenedCredentials:
        nonlocal loads
        loads += 1
        await release.wait()
        return OpenedCredentials({"web": WEB})

    secrets = RunSecrets(load)

    async def host() -> Secret | None:
        await secrets.masker()
        return await secrets.login("web")

    hosts = [asyncio.ensure_future(host()) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    for _ in range(4):  # the load wakes, ends, then its waiters resume
        await asyncio.sleep(0)

    assert sum(h.done() for h in hosts) == 50
    assert [h.result() for h in hosts] == [WEB] * 50
    assert loads == 1


async def test_a_load_that_failed_is_tried_again() -> None:
    attempts = 0

    async def load() -> OpenedCredentials:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise OSError("the store is away")
        return OpenedCredentials({"web": WEB})

    secrets = RunSecrets(load)
    with pytest.raises(OSError, match="away"):
        await secrets.login("web")
    assert await secrets.login("web") == WEB
    assert attempts == 2
