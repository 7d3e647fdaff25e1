"""Secrets in live and stored output over real sshd hosts, with the connectors a run really
gets (real store, real vault): a secret printed in pieces, a key rewrapped at another width and
the password of a credential no host of the run logs in with."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncssh
import pytest
from tests.connectors.fleet import fleet_settings, host_asset, open_fleet
from tests.sshhosts import SshHost, start_hosts, stop_hosts

from opsconductor.app import OpsConductor
from opsconductor.catalog.render import Command
from opsconductor.connectors.base import CommandResult
from opsconductor.connectors.registry import Connectors
from opsconductor.connectors.wiring import connector_registry
from opsconductor.credentials.masking import MASK
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.repository import load_secret, put_credential
from opsconductor.credentials.vault import Vault
from opsconductor.inventory.models import Asset

DB_PASSWORD = "Db-admin-pw/2026+zebra"  # of credential "db-admin", which no asset uses
TOKEN = "tok-7f3a9c21-ops-live-9d8e"  # of credential "api-token", also unused by the run

# Writes a file's bytes in pieces, flushing and pausing after each, so that each piece reaches
# the connector in its own read.
SLOW_PRINTER = """
import sys, time
data = open(sys.argv[1], "rb").read()
cuts = [0, *map(int, sys.argv[2:]), len(data)]
for start, end in zip(cuts, cuts[1:]):
    sys.stdout.buffer.write(data[start:end])
    sys.stdout.buffer.flush()
    time.sleep(0.4)
"""


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[SshHost]]:
    started = start_hosts(tmp_path_factory.mktemp("masking-hosts"), 3, prefix="mask")
    try:
        yield started
    finally:
        stop_hosts(started)


@pytest.fixture
async def conductor(tmp_path: Path, hosts: list[SshHost]) -> AsyncIterator[OpsConductor]:
    conductor = await open_fleet(fleet_settings(tmp_path, hosts), hosts)
    vault = Vault.from_settings(conductor.settings)
    other_key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    others = {
        "db-admin": Secret(CredentialKind.PASSWORD, "postgres", password=DB_PASSWORD),
        "api-token": Secret(CredentialKind.PASSWORD, "svc", password=TOKEN),
        "backup-key": Secret(CredentialKind.PRIVATE_KEY, "backup", private_key=other_key),
    }
    async with conductor.db.session() as session:
        for name, secret in others.items():
            await put_credential(session, vault, name=name, secret=secret, actor="test")
    try:
        yield conductor
    finally:
        await conductor.close()


class Follower:
    """What a live follower of the step is given: the chunks and when each came."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.times: list[float] = []

    async def __call__(self, chunk: str) -> None:
        self.chunks.append(chunk)
        self.times.append(time.monotonic())

    @property
    def text(self) -> str:
        return "".join(self.chunks)


async def run(
    connectors: Connectors, host: SshHost, argv: tuple[str, ...], follower: Follower
) -> CommandResult:
    asset = Asset.model_validate(host_asset(host))
    connector = connectors.for_asset(asset)
    return await connector.run(asset, Command(argv=argv), timeout_s=30, on_output=follower)


async def test_a_secret_printed_in_pieces_never_reaches_followers(
    conductor: OpsConductor, hosts: list[SshHost], tmp_path: Path
) -> None:
    text = f"line one\ntoken={TOKEN}\n✓ done\n".encode()
    start = text.index(TOKEN.encode())
    check = text.index("✓".encode())
    cuts = [start + 5, start + 12, start + 20, check + 1]  # inside the token and inside ✓
    printed = tmp_path / "printed.txt"
    printed.write_bytes(text)
    follower = Follower()
    argv = ("python3", "-c", SLOW_PRINTER, str(printed), *map(str, cuts))
    async with connector_registry(conductor.settings, conductor.db).open() as connectors:
        result = await run(connectors, hosts[0], argv, follower)
    assert result.ok, result.error
    assert result.stdout == f"line one\ntoken={MASK}\n✓ done\n"
    assert follower.text == result.stdout  # the live chunks add up to the stored copy
    assert "\ufffd" not in follower.text
    for chunk in follower.chunks:
        for piece in (TOKEN, TOKEN[:5], TOKEN[5:12], TOKEN[12:20], TOKEN[20:]):
            assert piece not in chunk
    # Followers were given the first line while the token was still being printed.
    assert len(follower.chunks) >= 3 and follower.chunks[0].startswith("line one\n")
    assert follower.times[-1] - follower.times[0] > 0.6


async def test_keys_rewrapped_at_64_columns_are_masked(
    conductor: OpsConductor, hosts: list[SshHost], tmp_path: Path
) -> None:
    login_key = hosts[0].client_key_path  # the key the run logs in with
    async with conductor.db.session() as session:
        other = await load_secret(session, "backup-key", Vault.from_settings(conductor.settings))
    assert other.private_key is not None
    other_file = tmp_path / "backup_key"
    other_file.write_text(other.private_key, encoding="utf-8")
    rewrap = 'for f in "$@"; do grep -v -- ----- "$f" | tr -d "\\n" | fold -w 64; echo; done'
    follower = Follower()
    argv = ("sh", "-c", rewrap, "sh", str(login_key), str(other_file))
    async with connector_registry(conductor.settings, conductor.db).open() as connectors:
        result = await run(connectors, hosts[1], argv, follower)
    assert result.ok, result.error
    lines = result.stdout.splitlines()
    assert len(lines) >= 10 and set(lines) == {MASK}
    assert follower.text == result.stdout
    for path in (login_key, other_file):
        body = "".join(line for line in path.read_text().splitlines() if "-----" not in line)
        rewrapped = [body[i : i + 64] for i in range(0, len(body), 64)]
        assert not any(line in follower.text + result.stdout for line in rewrapped)


async def test_passwords_of_credentials_the_run_did_not_open_are_masked(
    conductor: OpsConductor, hosts: list[SshHost], tmp_path: Path
) -> None:
    config = tmp_path / "app.conf"
    config.write_text(f"db: {DB_PASSWORD}\n", encoding="utf-8")
    show = 'cat "$1"; base64 -w0 "$1"; echo; printf %s "$2" | base64'
    follower = Follower()
    argv = ("sh", "-c", show, "sh", str(config), f"svc:{TOKEN}")
    async with connector_registry(conductor.settings, conductor.db).open() as connectors:
        result = await run(connectors, hosts[2], argv, follower)
    assert result.ok, result.error
    assert follower.text == result.stdout
    plain, encoded, basic = result.stdout.splitlines()
    assert plain == f"db: {MASK}"
    for shown, original in ((encoded, f"db: {DB_PASSWORD}\n"), (basic, f"svc:{TOKEN}")):
        assert MASK in shown and base64.b64encode(original.encode()).decode() not in shown
        assert len(shown.replace(MASK, "")) <= 12  # a group or two around the secret at most
    for secret in (DB_PASSWORD, TOKEN):
        assert secret not in result.stdout


async def test_the_vault_is_opened_once_for_a_run_over_many_hosts(
    conductor: OpsConductor, hosts: list[SshHost], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="opsconductor")
    follower = Follower()
    argv = ("printf", "%s\\n", "up")
    async with connector_registry(conductor.settings, conductor.db).open() as connectors:
        results = [await run(connectors, host, argv, follower) for host in hosts]
        results += [await run(connectors, host, argv, follower) for host in hosts]
    assert all(r.ok and r.stdout == "up\n" for r in results)
    opened = [r for r in caplog.records if r.getMessage().startswith("opened 4 credential(s)")]
    assert len(opened) == 1  # one load (four decryptions) for six commands on three hosts
    for secret in (DB_PASSWORD, TOKEN):
        assert secret not in caplog.text
