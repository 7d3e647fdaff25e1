"""The vault's key (setting or private key file) and its sealing: wrong keys and tampering are
told apart, and nothing that shows a secret object shows the secret."""

from __future__ import annotations

import base64
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opsconductor.config import Settings, load_settings
from opsconductor.credentials.errors import CredentialError, CredentialUnreadable
from opsconductor.credentials.models import CredentialKind, Secret, secret_values
from opsconductor.credentials.vault import Vault
from opsconductor.errors import ConfigurationError

PASSWORD = "correct-horse-battery-staple"
KEY = base64.b64encode(bytes(range(32))).decode()


def file_settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", secret_key=None)


def test_key_file_is_made_private_on_first_use_and_kept(tmp_path: Path) -> None:
    settings = file_settings(tmp_path)
    assert not settings.secret_key_file.exists()
    first = Vault.from_settings(settings)
    mode = stat.S_IMODE(settings.secret_key_file.stat().st_mode)
    assert mode == 0o600
    assert Vault.from_settings(settings).key_id == first.key_id
    assert [p.name for p in settings.home.iterdir()] == ["secret.key"]  # no temporary left


def test_processes_racing_to_make_the_key_agree_on_one(tmp_path: Path) -> None:
    settings = file_settings(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: Vault.from_settings(settings).key_id, range(16)))
    assert len(ids) == 1


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    settings = file_settings(tmp_path)
    Vault.from_settings(settings)
    os.chmod(settings.secret_key_file, mode)
    with pytest.raises(ConfigurationError, match="read by group or others") as caught:
        Vault.from_settings(settings)
    assert f"{mode:04o}" in str(caught.value)


def test_key_from_the_setting_makes_no_file(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", secret_key=KEY)
    urlsafe = load_settings(
        home=tmp_path / "home", secret_key=base64.urlsafe_b64encode(bytes(range(32))).decode()
    )
    assert Vault.from_settings(settings).key_id == Vault.from_settings(urlsafe).key_id
    assert not settings.secret_key_file.exists()


@pytest.mark.parametrize(
    "bad", ["too-short", "not base64 at all, just a long passphrase!!", "A" * 40]
)
def test_malformed_key_setting_is_named_without_its_value(tmp_path: Path, bad: str) -> None:
    settings = load_settings(home=tmp_path / "home", secret_key=bad)
    with pytest.raises(
        ConfigurationError, match="OPSCONDUCTOR_SECRET_KEY is not a valid key"
    ) as caught:
        Vault.from_settings(settings)
    assert bad not in str(caught.value)


def test_seal_and_open_round_trip_without_the_secret_in_the_sealed_text() -> None:
    vault = Vault(bytes(range(32)))
    secret = Secret(CredentialKind.PASSWORD, "deploy", password=PASSWORD)
    sealed = vault.seal("web-login", secret)
    assert (
        PASSWORD not in sealed and base64.b64encode(PASSWORD.encode()).decode()[:12] not in sealed
    )
    assert vault.seal("web-login", secret) != sealed  # a fresh nonce each time
    opened = vault.open("web-login", sealed, kind=CredentialKind.PASSWORD, username="deploy")
    assert opened == secret


def test_wrong_key_is_a_clear_error() -> None:
    sealed = Vault(bytes(range(32))).seal(
        "web-login", Secret(CredentialKind.PASSWORD, "u", password=PASSWORD)
    )
    other = Vault(bytes(32))
    with pytest.raises(
        CredentialUnreadable,
        match="cannot decrypt credential 'web-login': the secret key does not match",
    ):
        other.open("web-login", sealed, kind=CredentialKind.PASSWORD, username="u")


@pytest.mark.parametrize(
    ("name", "username"), [("other-login", "u"), ("web-login", "root")], ids=["moved", "relabelled"]
)
def test_sealed_secret_is_bound_to_its_credential(name: str, username: str) -> None:
    vault = Vault(bytes(range(32)))
    sealed = vault.seal("web-login", Secret(CredentialKind.PASSWORD, "u", password=PASSWORD))
    with pytest.raises(CredentialUnreadable, match="altered or belongs to another credential"):
        vault.open(name, sealed, kind=CredentialKind.PASSWORD, username=username)
    with pytest.raises(CredentialUnreadable, match="not a sealed secret"):
        vault.open("web-login", "v1:???", kind=CredentialKind.PASSWORD, username="u")


def test_secret_shows_no_secret() -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
    )
    secrets = [
        Secret(CredentialKind.PASSWORD, "deploy", password=PASSWORD),
        Secret(CredentialKind.PRIVATE_KEY, "deploy", private_key=key, passphrase=PASSWORD),
    ]
    for secret in secrets:
        for shown in (
            repr(secret),
            str(secret),
            f"{secret}",
            repr([secret]),
            repr(Vault(bytes(32))),
        ):
            assert PASSWORD not in shown and "b3BlbnNzaC1rZXktdjEAAAAA" not in shown
    assert repr(secrets[0]) == "Secret(kind='password', username='deploy', password=***)"
    assert (
        repr(secrets[1])
        == "Secret(kind='private_key', username='deploy', private_key=***, passphrase=***)"
    )
    assert set(secret_values(secrets[1])) == {PASSWORD, key, "b3BlbnNzaC1rZXktdjEAAAAA"}


def test_secret_refuses_mixed_or_empty_parts() -> None:
    with pytest.raises(CredentialError):
        Secret(CredentialKind.PASSWORD, "u", password="")
    with pytest.raises(CredentialError):
        Secret(CredentialKind.PASSWORD, "u", password="x", private_key="k")
    with pytest.raises(CredentialError):
        Secret(CredentialKind.PRIVATE_KEY, "u", password="x")
