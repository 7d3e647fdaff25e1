"""The Ansible side of bench/fanout.py: `ansible all -m command -a 'df -P /' -f N` on our hosts.

Like OpsConductor, Ansible logs in with the hosts' client key and checks each host key strictly
against the same known_hosts lines. Every run is a new `ansible` process. Its SSH multiplexing
sockets live in a control folder given per run: a fresh folder makes a cold run, and the folder
of the run just before makes a warm one, over the master connections that run left open
(ControlPersist=60s in Ansible's default ssh_args).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.sshhosts import SshHost

from fanout_model import Outcome, failed

MODULE_ARGS = "df -P /"  # the command
RUN_TIMEOUT_S = 300.0
# The minimal callback prints "host-01 | CHANGED | rc=0 >>" for each host that ran the command.
RESULT_LINE = re.compile(r"^(\S+) \| (SUCCESS|CHANGED) \| rc=0", re.MULTILINE)


@dataclass(frozen=True)
class Variant:
    """How one Ansible series is run."""

    name: str
    pipelining: bool
    warm: bool  # over the master connections the run before left open; not a cold start
    about: str


DEFAULTS = Variant(
    "ansible (defaults)", pipelining=False, warm=False, about="Ansible's defaults, cold"
)
PIPELINING = Variant(
    "ansible (pipelining)",
    pipelining=True,
    warm=False,
    about="ANSIBLE_PIPELINING=True, cold: fewer SSH round trips and no remote temporary file",
)
WARM = Variant(
    "ansible (pipelining, warm masters)",
    pipelining=True,
    warm=True,
    about="as above, right after it, over the ControlMaster connections it left open: "
    "no SSH handshake or login at all, so not a cold start (best case for Ansible)",
)
VARIANTS = (DEFAULTS, PIPELINING, WARM)


def ansible_bin() -> Path:
    return Path(sys.executable).with_name("ansible")


def write_inventory(path: Path, hosts: list[SshHost], known_hosts: Path) -> None:
    """An INI inventory of the hosts: key login, strict host key checking on our file."""
    ssh_args = f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes"
    lines = ["[bench]"]
    lines += [
        f"{h.name} ansible_host={h.address} ansible_port={h.port} ansible_user={h.username}"
        for h in hosts
    ]
    lines += [
        "",
        "[all:vars]",
        f"ansible_ssh_private_key_file={hosts[0].client_key_path}",
        f"ansible_ssh_common_args={shlex.quote(ssh_args)}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class AnsibleSide:
    """Runs the ad-hoc command; owns a work folder with the inventory and a blank config."""

    def __init__(self, work: Path, hosts: list[SshHost], known_hosts: Path) -> None:
        self.work = work
        self.expected = {h.name for h in hosts}
        work.mkdir(parents=True, exist_ok=True)
        self.inventory = work / "inventory.ini"
        write_inventory(self.inventory, hosts, known_hosts)
        self.config = work / "ansible.cfg"
        self.config.write_text("# empty: Ansible's defaults, bar the environment below\n")

    def argv(self) -> list[str]:
        argv = [str(ansible_bin()), "all", "-i", str(self.inventory), "-m", "command"]
        return [*argv, "-a", MODULE_ARGS, "-f", str(len(self.expected))]

    def env(self, pipelining: bool, control_dir: Path) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("ANSIBLE_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(
            ANSIBLE_CONFIG=str(self.config),
            ANSIBLE_HOME=str(self.work / "home"),
            ANSIBLE_LOCAL_TEMP=str(self.work / "local-tmp"),
            ANSIBLE_REMOTE_TEMP=str(self.work / "remote-tmp"),
            ANSIBLE_HOST_KEY_CHECKING="True",
            ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",  # no interpreter discovery round trip
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_PIPELINING=str(pipelining),
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_dir),
        )
        return env

    def run(self, variant: Variant, control_dir: Path) -> Outcome:
        """One `ansible` process; ok when it exits 0 with a result line for every host."""
        control_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        done = subprocess.run(
            self.argv(),
            env=self.env(variant.pipelining, control_dir),
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        seconds = time.perf_counter() - t0
        answered = {m[1] for m in RESULT_LINE.finditer(done.stdout)} & self.expected
        detail = (
            f"{len(answered)}/{len(self.expected)} hosts SUCCESS/CHANGED, exit {done.returncode}"
        )
        if done.returncode != 0 or answered != self.expected:
            return failed(seconds, f"{detail}: {done.stderr[-200:] or done.stdout[-200:]}")
        return Outcome(seconds=seconds, ok=True, detail=detail)

    def close_masters(self, control_dir: Path) -> None:
        """Ask each ControlMaster this bench's runs left in `control_dir` to exit."""
        sockets = [p for p in control_dir.iterdir() if p.is_socket()]
        closing = [
            subprocess.Popen(
                ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "bench-host"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for socket in sockets
        ]
        for process in closing:
            process.wait(timeout=30)
