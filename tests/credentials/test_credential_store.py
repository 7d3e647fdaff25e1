"""Credentials in the store, on SQLite and PostgreSQL: sealed at rest, referred to by assets,
audited without their secrets, opened only by `load_secret`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import text
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.credentials.errors import (
    CredentialError,
    CredentialInUse,
    CredentialNotFound,
    CredentialUnreadable,
)
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.repository import (
    list_credentials,
    load_secret,
    put_credential,
    remove_credential,
)
from opsconductor.credentials.vault import Vault
from opsconductor.inventory import repository
from opsconductor.inventory.importers import read_assets_file

PASSWORD = "s3cret-Pa55word-for-tests"
PASSPHRASE = "locked-key-passphrase"


def locked_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    ).decode()


async def add(conductor: OpsConductor, vault: Vault, name: str, secret: Secret) -> bool:
    async with conductor.db.session() as session:
        return await put_credential(
            session, vault, name=name, secret=secret, actor="alice", description="for tests"
        )


async def dump_tables(conductor: OpsConductor) -> str:
    """Every value of the credentials and audit tables, as text."""
    async with conductor.db.session() as session:
        rows = [
            *(await session.execute(text("SELECT * FROM credentials"))).all(),
            *(await session.execute(text("SELECT * FROM audit_events"))).all(),
        ]
    return json.dumps([list(row) for row in rows], default=str)


async def test_round_trip_sealed_at_rest(conductor: OpsConductor) -> None:
    vault = Vault.from_settings(conductor.settings)
    password = Secret(CredentialKind.PASSWORD, "deploy", password=PASSWORD)
    key = locked_key()
    keyed = Secret(CredentialKind.PRIVATE_KEY, "root", private_key=key, passphrase=PASSPHRASE)
    assert await add(conductor, vault, "web-login", password) is False
    assert await add(conductor, vault, "ops-key", keyed) is False
    async with conductor.db.session() as session:
        assert await load_secret(session, "web-login", vault) == password
        assert await load_secret(session, "ops-key", vault) == keyed
        listed = await list_credentials(session)
    assert [(c.name, c.kind, c.username, c.has_passphrase) for c in listed] == [
        ("ops-key", CredentialKind.PRIVATE_KEY, "root", True),
        ("web-login", CredentialKind.PASSWORD, "deploy", False),
    ]
    stored = await dump_tables(conductor)
    body = key.splitlines()[1]
    for secret in (PASSWORD, PASSPHRASE, body, base64.b64encode(PASSWORD.encode()).decode()[:16]):
        assert secret not in stored
    assert "web-login" in stored and '"added"' in stored  # the audit trail names what happened


async def test_re_adding_replaces_and_says_so(conductor: OpsConductor) -> None:
    vault = Vault.from_settings(conductor.settings)
    await add(
        conductor, vault, "web-login", Secret(CredentialKind.PASSWORD, "a", password="old-one")
    )
    replaced = Secret(CredentialKind.PASSWORD, "b", password=PASSWORD)
    assert await add(conductor, vault, "web-login", replaced) is True
    async with conductor.db.session() as session:
        assert await load_secret(session, "web-login", vault) == replaced
        actions = list(await session.scalars(text("SELECT action FROM audit_events ORDER BY id")))
    assert actions == ["added", "replaced"]


async def test_wrong_key_and_missing_credential_are_clear_errors(conductor: OpsConductor) -> None:
    vault = Vault.from_settings(conductor.settings)
    await add(
        conductor, vault, "web-login", Secret(CredentialKind.PASSWORD, "u", password=PASSWORD)
    )
    async with conductor.db.session() as session:
        with pytest.raises(CredentialUnreadable, match="the secret key does not match"):
            await load_secret(session, "web-login", Vault(bytes(32)))
        with pytest.raises(CredentialNotFound, match="no credential named 'nope'"):
            await load_secret(session, "nope", vault)


async def test_bad_keys_and_passphrases_are_refused(conductor: OpsConductor) -> None:
    vault = Vault.from_settings(conductor.settings)
    cases = [
        (Secret(CredentialKind.PRIVATE_KEY, "u", private_key="not a key"), "not a usable"),
        (Secret(CredentialKind.PRIVATE_KEY, "u", private_key=locked_key()), "locked"),
        (
            Secret(CredentialKind.PRIVATE_KEY, "u", private_key=locked_key(), passphrase="wrong"),
            "passphrase does not open",
        ),
    ]
    for secret, problem in cases:
        with pytest.raises(CredentialError, match=problem):
            await add(conductor, vault, "k", secret)
    with pytest.raises(CredentialError, match="credential name"):
        await add(conductor, vault, "-bad", Secret(CredentialKind.PASSWORD, "u", password=PASSWORD))


async def test_asset_refers_by_name_and_removal_waits_for_its_users(
    conductor: OpsConductor,
) -> None:
    vault = Vault.from_settings(conductor.settings)
    await add(conductor, vault, "ops-key", Secret(CredentialKind.PASSWORD, "u", password=PASSWORD))
    fleet = [dict(a) for a in FLEET]
    for asset in fleet[1:3]:
        asset["connection"] = {"protocol": "ssh", "credential": "ops-key"}
    await seed(conductor, fleet)
    async with conductor.db.session() as session:
        asset = await repository.get_asset(session, "web-prod-01")
        assert asset.connection.credential == "ops-key"
        assert (await list_credentials(session))[0].assets == ["web-prod-01", "web-prod-02"]
        with pytest.raises(
            CredentialInUse, match=r"used by 2 asset\(s\): web-prod-01, web-prod-02"
        ):
            await remove_credential(session, "ops-key", actor="alice")
    for asset in fleet[1:3]:
        asset["connection"] = {"protocol": "ssh"}
    await seed(conductor, fleet)
    async with conductor.db.session() as session:
        await remove_credential(session, "ops-key", actor="alice")
    async with conductor.db.session() as session:
        assert await list_credentials(session) == []
        with pytest.raises(CredentialNotFound):
            await remove_credential(session, "ops-key", actor="alice")


def test_import_files_name_a_credential(tmp_path: Path) -> None:
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text(
        "assets:\n  - {name: db-01, os_type: linux, device_type: server,"
        " connection: {protocol: ssh, credential: ops-key}}\n",
        encoding="utf-8",
    )
    (asset,) = read_assets_file(inventory)
    assert asset.connection.credential == "ops-key"
