"""The loopback sshd hosts of tests/sshhosts.py, checked through a real asyncssh client."""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh
import pytest
from tests.sshhosts import (
    SshHost,
    rotate_host_key,
    running_hosts,
    start_host,
    start_hosts,
    stop_host,
    stop_hosts,
)


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[list[SshHost]]:
    with running_hosts(tmp_path, 3) as started:
        yield started


@asynccontextmanager
async def connect(
    host: SshHost, known_hosts: str | None = None
) -> AsyncIterator[asyncssh.SSHClientConnection]:
    """Connect as the tests' client would: strict host key checking, no agent, no ~/.ssh."""
    trusted = asyncssh.import_known_hosts(known_hosts or host.known_hosts_line())
    async with asyncssh.connect(
        host.address,
        port=host.port,
        username=host.username,
        client_keys=[host.client_key_path],
        known_hosts=trusted,
        agent_path=None,
        config=None,
        connect_timeout=10,
    ) as conn:
        yield conn


async def test_hosts_are_distinct(hosts: list[SshHost]) -> None:
    assert len({h.port for h in hosts}) == 3
    assert len({h.host_public_key for h in hosts}) == 3
    assert all(h.host_public_key.startswith("ssh-ed25519 AAAA") for h in hosts)
    assert hosts[0].known_hosts_line() == f"[127.0.0.1]:{hosts[0].port} {hosts[0].host_public_key}"


async def test_arguments_arrive_exactly_as_one_argv(hosts: list[SshHost]) -> None:
    for index, host in enumerate(hosts):
        unit = f"nginx; rm -rf / #{index}"
        async with connect(host) as conn:
            result = await conn.run(shlex.join(["systemctl", "restart", unit]), check=True)
        assert result.exit_status == 0
        assert host.received() == [["restart", unit]]
        assert host.received("systemctl") == [["restart", unit]]
        assert host.received("reboot") == []
    quoted = ["oc-deploy", "--tag", 'it\'s "quoted"', "$HOME", "*", "", "a\nb", "ünï"]
    async with connect(hosts[0]) as conn:
        await conn.run(shlex.join(quoted), check=True)
    assert hosts[0].received("oc-deploy") == [quoted[1:]]


async def test_real_commands_run_on_the_host(hosts: list[SshHost]) -> None:
    async with connect(hosts[0]) as conn:
        df = await conn.run("df -P -k /", check=True)
        env = await conn.run("echo $PATH; command -v systemctl reboot", check=True)
    lines = str(df.stdout).splitlines()
    assert lines[0].startswith("Filesystem") and "1024-blocks" in lines[0]
    assert lines[1].split()[-1] == "/"
    bin_dir = hosts[0].bin_dir
    assert str(env.stdout).split() == [
        f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",  # set by sshd, not by ~/.bashrc
        f"{bin_dir}/systemctl",
        f"{bin_dir}/reboot",
    ]


async def test_systemctl_stand_in_acts_like_a_host(hosts: list[SshHost]) -> None:
    host = hosts[0]
    async with connect(host) as conn:
        show = await conn.run("systemctl show nginx", check=True)
        missing = await conn.run("systemctl restart missing-app")
        failing = await conn.run("systemctl start failing-app")
        await conn.run("systemctl stop nginx", check=True)
        stopped = await conn.run("systemctl show -p ActiveState,SubState --value nginx")
        inactive = await conn.run("systemctl is-active nginx")
        reboot = await conn.run("reboot")
    assert "LoadState=loaded\nActiveState=active\nSubState=running\n" in str(show.stdout)
    assert "Description=nginx service" in str(show.stdout)
    assert missing.exit_status == 5
    assert "Unit missing-app.service not found." in str(missing.stderr)
    assert failing.exit_status == 1
    assert str(stopped.stdout) == "inactive\ndead\n"
    assert (inactive.exit_status, inactive.stdout) == (3, "inactive\n")
    assert reboot.exit_status == 0
    assert host.received("reboot") == [[]]
    assert host.received()[0] == ["show", "nginx"]


async def test_rotated_host_key_is_refused(hosts: list[SshHost]) -> None:
    host = hosts[1]
    old_line = host.known_hosts_line()
    new_key = rotate_host_key(host)
    assert new_key != old_line.split(" ", 1)[1]
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with connect(host, known_hosts=old_line):
            pass
    async with connect(host) as conn:
        assert (await conn.run("true")).exit_status == 0


async def test_stopped_host_refuses_connections(hosts: list[SshHost]) -> None:
    host = hosts[2]
    async with connect(host) as conn:
        stop_host(host)  # sessions go down with the host
        with pytest.raises((asyncssh.Error, OSError)):
            await asyncio.wait_for(conn.run("true", check=True), 10)
    assert not host.running
    with pytest.raises(OSError):  # ConnectionRefusedError
        async with connect(host):
            pass
    start_host(host)
    async with connect(host) as conn:  # same port, same host key
        assert (await conn.run("true")).exit_status == 0


async def test_one_client_opens_many_connections_at_once(tmp_path: Path) -> None:
    with running_hosts(tmp_path, 1) as (host,):

        async def one(n: int) -> str:
            async with connect(host) as conn:
                result = await conn.run(shlex.join(["systemctl", "restart", f"u{n}"]), check=True)
                return str(result.stdout)

        assert await asyncio.gather(*(one(n) for n in range(50))) == [""] * 50
    assert sorted(argv[1] for argv in host.received()) == sorted(f"u{n}" for n in range(50))


def test_stop_hosts_leaves_no_sshd_behind(tmp_path: Path) -> None:
    hosts = start_hosts(tmp_path, 2, prefix="gone", distinct_client_keys=True)
    pids = [h.process.pid for h in hosts if h.process is not None]
    assert hosts[0].client_key_path != hosts[1].client_key_path
    assert hosts[0].name == "gone-01"
    stop_hosts(hosts)
    assert all(h.process is None and not h.running for h in hosts)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
