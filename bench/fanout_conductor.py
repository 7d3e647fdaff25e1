"""The OpsConductor side of bench/fanout.py.

A template home is seeded once (a key credential and one asset per test host, tagged `bench`);
every timed run gets its own copy, so each starts from the same cold store, with no connection,
cache or event loop left by an earlier run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.sshhosts import SshHost

from fanout_model import Outcome, failed
from opsconductor.app import OpsConductor
from opsconductor.config import Settings, load_settings
from opsconductor.credentials.models import CredentialKind, Secret
from opsconductor.credentials.repository import put_credential
from opsconductor.credentials.vault import Vault
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset
from opsconductor.pipeline.answer import Answer

TAG = "bench"
QUESTION = f"check disk space on all servers tagged {TAG}"
REQUESTER = "bench"
CREDENTIAL = "bench-key"
CLI_TIMEOUT_S = 300.0


def settings_for(home: Path, known_hosts: Path) -> Settings:
    """The embedded store in `home`, whatever OPSCONDUCTOR_DATABASE_URL the shell has."""
    return load_settings(home=home, known_hosts=known_hosts, database_url=None)


def host_asset(host: SshHost) -> Asset:
    return Asset.model_validate(
        {
            "name": host.name,
            "hostname": "localhost",
            "ip_address": host.address,
            "os_type": "linux",
            "device_type": "server",
            "environment": "lab",
            "tags": [TAG],
            "connection": {
                "protocol": "ssh",
                "port": host.port,
                "username": host.username,
                "credential": CREDENTIAL,
            },
        }
    )


async def seed_home(home: Path, known_hosts: Path, hosts: list[SshHost]) -> None:
    """Create the store in `home` with the key credential and one asset per host."""
    settings = settings_for(home, known_hosts)
    conductor = await OpsConductor.open(settings)
    try:
        secret = Secret(
            kind=CredentialKind.PRIVATE_KEY,
            username=hosts[0].username,
            private_key=hosts[0].client_key_path.read_text(encoding="utf-8"),
        )
        async with conductor.db.session() as session:
            vault = Vault.from_settings(settings)
            await put_credential(session, vault, name=CREDENTIAL, secret=secret, actor=REQUESTER)
        async with conductor.db.session() as session:
            await repository.upsert_assets(session, [host_asset(h) for h in hosts])
    finally:
        await conductor.close()


def verdict(state: str | None, message: str, expected: int) -> tuple[bool, str]:
    """Whether the answer reports every host OK, and its first line."""
    first_line = message.splitlines()[0] if message else f"(no message; state {state})"
    ok = state == "succeeded" and first_line.startswith(f"{expected}/{expected} hosts OK")
    return ok, first_line


async def _ask_cold(settings: Settings) -> tuple[Answer, dict[str, float]]:
    t0 = time.perf_counter()
    conductor = await OpsConductor.open(settings)
    try:
        t1 = time.perf_counter()
        answer = await conductor.pipeline.ask(QUESTION, requester=REQUESTER, confirm=True)
        t2 = time.perf_counter()
    finally:
        await conductor.close()
    parts = {"open": t1 - t0, "ask": t2 - t1, "close": time.perf_counter() - t2}
    if answer.result is not None and answer.result.total_duration_seconds is not None:
        parts["execution"] = answer.result.total_duration_seconds
    return answer, parts


def run_in_process(home: Path, known_hosts: Path, expected: int) -> Outcome:
    """`OpsConductor.open` + `ask(..., confirm=True)` + `close`, on a new event loop."""
    t0 = time.perf_counter()
    try:
        answer, parts = asyncio.run(_ask_cold(settings_for(home, known_hosts)))
    except Exception as exc:  # a crash is a failed run, reported with the others
        return failed(time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - t0
    ok, first_line = verdict(answer.execution_state, answer.response.message, expected)
    return Outcome(seconds=seconds, ok=ok, detail=first_line, parts=parts)


def cli_argv() -> list[str]:
    return [
        str(Path(sys.executable).with_name("opsconductor")),
        "ask",
        QUESTION,
        "--yes",
        "-f",
        "json",
    ]


def cli_env(home: Path, known_hosts: Path) -> dict[str, str]:
    """No OpsConductor settings but ours; bytecode may be cached, as in any installed package."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OPSCONDUCTOR_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        OPSCONDUCTOR_HOME=str(home),
        OPSCONDUCTOR_KNOWN_HOSTS=str(known_hosts),
    )
    return env


def run_cli(home: Path, known_hosts: Path, expected: int) -> Outcome:
    """`opsconductor ask QUESTION --yes` as a new process, the way a user types it."""
    t0 = time.perf_counter()
    done = subprocess.run(
        cli_argv(),
        env=cli_env(home, known_hosts),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        return failed(seconds, f"exit {done.returncode}: {done.stderr[-300:] or done.stdout[:300]}")
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        return failed(seconds, f"not JSON: {done.stdout[:300]}")
    state = (document.get("execution") or {}).get("status")
    ok, first_line = verdict(state, document["response"]["message"], expected)
    return Outcome(seconds=seconds, ok=ok, detail=first_line)
