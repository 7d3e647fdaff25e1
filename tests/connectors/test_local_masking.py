"""The local connector masks like the remote ones: live chunks and the stored copy, also when
the command is killed at its timeout with the start of a secret still held back."""

from __future__ import annotations

import sys

from opsconductor.catalog.render import Command
from opsconductor.connectors.base import ErrorKind
from opsconductor.connectors.local import LocalConnector
from opsconductor.credentials.masking import MASK
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.run_secrets import RunSecrets
from opsconductor.inventory.models import Asset

PASSWORD = "local-Secret-value-77"
HERE = Asset.model_validate(
    {
        "name": "here",
        "os_type": "linux",
        "device_type": "server",
        "connection": {"protocol": "local"},
    }
)

# Prints its arguments one by one, flushing and pausing after each.
PIECES = """
import sys, time
for piece in sys.argv[1:]:
    sys.stdout.write(piece.replace("|", "\\n")); sys.stdout.flush(); time.sleep(0.2)
"""


def connector() -> LocalConnector:
    secret = Secret(CredentialKind.PASSWORD, "ops", password=PASSWORD)
    return LocalConnector(secrets=RunSecrets.of({"ops": secret}))


async def test_live_chunks_are_masked_and_add_up_to_the_stored_copy() -> None:
    chunks: list[str] = []

    async def follow(chunk: str) -> None:
        chunks.append(chunk)

    pieces = ["start|pw=", PASSWORD[:6], PASSWORD[6:15], PASSWORD[15:] + "|end|"]
    command = Command(argv=(sys.executable, "-c", PIECES, *pieces))
    result = await connector().run(HERE, command, timeout_s=20, on_output=follow)
    assert result.ok and result.stdout == f"start\npw={MASK}\nend\n"
    assert "".join(chunks) == result.stdout and len(chunks) >= 2
    assert not any(PASSWORD[:6] in chunk or PASSWORD[6:15] in chunk for chunk in chunks)


async def test_a_timeout_gives_followers_the_held_tail_as_stored() -> None:
    chunks: list[str] = []

    async def follow(chunk: str) -> None:
        chunks.append(chunk)

    stalling = PIECES + "time.sleep(60)\n"  # the start of a secret, then nothing more
    command = Command(argv=(sys.executable, "-c", stalling, "before|", PASSWORD[:8]))
    result = await connector().run(HERE, command, timeout_s=2, on_output=follow)
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.stdout == "before\n" + PASSWORD[:8]  # never completed: not the secret
    assert "".join(chunks) == result.stdout and chunks[-1] == PASSWORD[:8]  # held until then
