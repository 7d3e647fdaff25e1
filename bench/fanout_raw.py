"""The floor of bench/fanout.py: a bare asyncssh script doing the fan-out and nothing else.

On a new event loop per run, as the in-process OpsConductor variant: read the client key and
the known_hosts file, connect to every host at once (strict host key check, the same key),
send each the very string OpsConductor's SSH connector sends for the catalog's disk tool
(`linux.disk_usage`: `df -P -k` inside the connector's process-group wrapper), read the whole
output, close. No store, no plan, no audit: what is left is SSH and the remote command, so
OpsConductor's in-process time over this one is its own overhead.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncssh
from tests.sshhosts import SshHost

from fanout_model import Outcome, failed
from opsconductor.connectors.ssh import remote_command

# What the catalog's `linux.disk_usage` runs (src/opsconductor/catalog/builtin/linux.yaml).
DISK_ARGV = ("df", "-P", "-k")
# The same string OpsConductor's connector hands sshd: `sh -c '<pid wrapper>' … df -P -k`.
REMOTE_COMMAND = remote_command(DISK_ARGV)
CONNECT_TIMEOUT_S = 10.0
RUN_TIMEOUT_S = 60.0

HostResult = tuple[str, int | None, str]  # host, exit status, stdout


async def _one_host(
    host: SshHost, key: asyncssh.SSHKey, known_hosts: asyncssh.SSHKnownHosts
) -> HostResult:
    """Connect, run the command, read its output: (host, exit status, stdout)."""
    async with asyncssh.connect(
        host.address,
        host.port,
        username=host.username,
        client_keys=[key],
        known_hosts=known_hosts,
        agent_path=None,
        connect_timeout=CONNECT_TIMEOUT_S,
    ) as connection:
        done = await connection.run(REMOTE_COMMAND, check=False, stdin=asyncssh.DEVNULL)
    stdout = done.stdout if isinstance(done.stdout, str) else ""
    return host.name, done.exit_status, stdout


async def _fan_out(
    hosts: list[SshHost], known_hosts_path: Path
) -> list[HostResult | BaseException]:
    key = asyncssh.read_private_key(str(hosts[0].client_key_path))
    known_hosts = asyncssh.read_known_hosts(str(known_hosts_path))
    async with asyncio.timeout(RUN_TIMEOUT_S):
        return await asyncio.gather(
            *(_one_host(h, key, known_hosts) for h in hosts), return_exceptions=True
        )


def _answered(result: HostResult | BaseException) -> bool:
    """A host counts when `df` exited 0 and printed its POSIX header."""
    if isinstance(result, BaseException):
        return False
    _, status, stdout = result
    return status == 0 and stdout.startswith("Filesystem")


def run_raw(hosts: list[SshHost], known_hosts: Path) -> Outcome:
    """One cold fan-out over every host, on a new event loop."""
    t0 = time.perf_counter()
    try:
        results = asyncio.run(_fan_out(hosts, known_hosts))
    except Exception as exc:  # a crash (or the run's timeout) is a failed run
        return failed(time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - t0
    ok = sum(_answered(r) for r in results)
    detail = f"{ok}/{len(hosts)} hosts answered df"
    if ok != len(hosts):
        errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
        return failed(seconds, f"{detail}; {errors[:2]}")
    return Outcome(seconds=seconds, ok=True, detail=detail)
