"""Real OpsConductor processes for trust tests: `opsconductor serve` and `opsconductor worker`
started as subprocesses over one store, killed with SIGKILL when a test says so, and sshd test
hosts whose `systemctl` and `df` take as long as a test wants and record each call."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.sshhosts import SshHost

BIN = Path(sys.executable).parent
FAST_LEASES = {"OPSCONDUCTOR_LEASE_S": "2", "OPSCONDUCTOR_HEARTBEAT_S": "0.4"}

# Records its call like the hosts' stand-ins, and again when it finishes; sleeps as long as the
# host's `delay` file says; `df` then runs the real df so that its output parses.
_SLOW_PROGRAM = """#!/usr/bin/env python3
import json, os, sys, time
directory = {directory!r}
def note(kind):
    with open(os.path.join(directory, kind), "a") as handle:
        handle.write(json.dumps({{"program": {program!r}, "argv": sys.argv[1:]}}) + "\\n")
note("received.jsonl")
delay_file = os.path.join(directory, "delay")
time.sleep(float(open(delay_file).read()) if os.path.exists(delay_file) else 0)
note("finished.jsonl")
if {program!r} == "df":
    os.execv("/usr/bin/df", ["df", *sys.argv[1:]])
"""


def make_slow(host: SshHost, programs: tuple[str, ...] = ("systemctl", "df")) -> None:
    for program in programs:
        path = host.bin_dir / program
        path.unlink(missing_ok=True)
        path.write_text(_SLOW_PROGRAM.format(directory=str(host.directory), program=program))
        path.chmod(0o755)


def set_delay(host: SshHost, seconds: float) -> None:
    (host.directory / "delay").write_text(str(seconds))


def finished(host: SshHost, program: str) -> list[list[str]]:
    path = host.directory / "finished.jsonl"
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [e["argv"] for e in entries if e["program"] == program]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """One OpsConductor process; its output goes to `log`."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        if self.port is not None:
            self._wait_healthy()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def kill(self) -> None:
        """SIGKILL: no cleanup, no shutdown hooks, as when a machine loses power."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.argv} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.argv} did not answer: {self.log.read_text()[-2000:]}")


def process_env(home: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONDUCTOR_")}
    env |= {"OPSCONDUCTOR_HOME": str(home), **FAST_LEASES, **extra}
    if database_url:
        env["OPSCONDUCTOR_DATABASE_URL"] = database_url
    return env


def serve(env: dict[str, str], log: Path, *options: str) -> Process:
    port = free_port()
    argv = [str(BIN / "opsconductor"), "serve", "--port", str(port), *options]
    return Process(argv, env, log, port=port).start()


def worker(env: dict[str, str], log: Path, *options: str) -> Process:
    argv = [str(BIN / "opsconductor"), "worker", "--poll-s", "0.2", *options]
    return Process(argv, env, log).start()


@contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.stop()
