"""Fan-out benchmark: a disk check on 50 real sshd test hosts, OpsConductor against Ansible.

    make bench-fanout        # installs .[bench] (ansible-core) into .venv, then runs this
    PYTHONPATH=. .venv/bin/python bench/fanout.py [--hosts 50] [--runs 5]

Starts the test hosts of tests/sshhosts.py on loopback, then times, in one run and in turns,
"check disk space on all servers tagged bench" through OpsConductor (the CLI as a new process,
and `OpsConductor.open` + `ask` + `close` in process) against its floor, a bare asyncssh
script sending the same command to the same hosts in process (bench/fanout_raw.py), and
against `ansible all -i INVENTORY -m command -a 'df -P /' -f 50` (defaults; with pipelining;
with pipelining over warm ControlMaster connections). Every run checks that each host answered;
a failed run is counted, never timed. Writes docs/benchmarks-fanout.md; exits 1 when a run
failed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.sshhosts

from tests.sshhosts import SshHost, start_hosts, stop_hosts  # noqa: E402

import fanout_conductor as conductor  # noqa: E402
import fanout_raw as raw  # noqa: E402
import fanout_report as report  # noqa: E402
import run  # noqa: E402
from fanout_ansible import DEFAULTS, PIPELINING, WARM, AnsibleSide, ansible_bin  # noqa: E402
from fanout_model import Outcome, Sample, failures  # noqa: E402
from fanout_report import CLI, IN_PROCESS, RAW  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50, help="sshd test hosts (and forks)")
    parser.add_argument(
        "--runs", type=int, default=5, help="timed rounds; the report takes medians"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "benchmarks-fanout.md", help="report"
    )
    args = parser.parse_args(argv)
    if args.hosts < 1 or args.runs < 1:
        parser.error("need --hosts and --runs >= 1")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    """bench/run.py's machine facts, plus the SSH and Ansible versions."""
    facts = run.machine()
    facts.pop("SQLite", None)
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False)
    facts["OpenSSH (client and sshd)"] = (ssh.stderr or ssh.stdout).strip()
    for package in ("ansible-core", "asyncssh"):
        try:
            facts[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            facts[package] = "not installed"
    return facts


@dataclass
class Bench:
    """The hosts and both sides, set up once; `step` runs one variant and records it."""

    tmp: Path
    hosts: list[SshHost]
    known_hosts: Path
    template_home: Path
    ansible: AnsibleSide
    samples: list[Sample]

    def new_logins(self) -> int:
        """Successful SSH logins so far, over every host (read from the sshd logs)."""
        return sum(h.log_path.read_text(errors="replace").count("Accepted ") for h in self.hosts)

    def fresh_home(self, label: str) -> Path:
        home = self.tmp / "homes" / label
        shutil.copytree(self.template_home, home)
        return home

    def step(self, variant: str, number: int, work: Callable[[], Outcome]) -> Outcome:
        logins, cpu = self.new_logins(), cpu_seconds()
        outcome = work()
        cpu = cpu_seconds() - cpu
        sample = Sample(variant, number, outcome, self.new_logins() - logins, cpu)
        if number > 0:  # round 0 is the warm-up
            self.samples.append(sample)
        mark = "ok  " if outcome.ok else "FAIL"
        log(f"  {mark} {variant:36} {outcome.seconds:6.2f} s  cpu {cpu:6.2f} s  "
            f"{sample.logins:3d} logins  {outcome.detail[:60]}")  # fmt: skip
        return outcome


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has reaped (such as `ansible`)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def conductor_steps(bench: Bench, number: int) -> None:
    """The CLI, then the in-process `ask` and the raw asyncssh floor, whose order alternates."""
    expected = len(bench.hosts)
    home = bench.fresh_home(f"{number}-cli")
    bench.step(CLI, number, lambda: conductor.run_cli(home, bench.known_hosts, expected))
    home = bench.fresh_home(f"{number}-in-process")

    def in_process() -> None:
        bench.step(
            IN_PROCESS, number, lambda: conductor.run_in_process(home, bench.known_hosts, expected)
        )

    def floor() -> None:
        bench.step(RAW, number, lambda: raw.run_raw(bench.hosts, bench.known_hosts))

    for step in (in_process, floor) if number % 2 else (floor, in_process):
        step()


def ansible_steps(bench: Bench, number: int) -> None:
    control = bench.tmp / "cp" / f"{number}d"  # short: a socket path has ~100 bytes at most
    bench.step(DEFAULTS.name, number, lambda: bench.ansible.run(DEFAULTS, control))
    bench.ansible.close_masters(control)
    if number == 0:
        return  # the warm-up: the other variants run the same code, already loaded
    control = bench.tmp / "cp" / f"{number}p"
    bench.step(PIPELINING.name, number, lambda: bench.ansible.run(PIPELINING, control))
    bench.step(WARM.name, number, lambda: bench.ansible.run(WARM, control))
    bench.ansible.close_masters(control)


def one_round(bench: Bench, number: int) -> None:
    """Both sides once; odd rounds start with OpsConductor, even ones with Ansible."""
    log(f"round {number}" if number else "warm-up (not timed)")
    order = [conductor_steps, ansible_steps]
    for steps in order if number % 2 else reversed(order):
        steps(bench, number)


def set_up(tmp: Path, hosts: list[SshHost]) -> Bench:
    known_hosts = tmp / "known_hosts"
    known_hosts.write_text("".join(h.known_hosts_line() + "\n" for h in hosts), encoding="utf-8")
    template = tmp / "template-home"
    asyncio.run(conductor.seed_home(template, known_hosts, hosts))
    ansible = AnsibleSide(tmp / "ansible", hosts, known_hosts)
    return Bench(tmp, hosts, known_hosts, template, ansible, samples=[])


def measure(args: argparse.Namespace, tmp: Path) -> list[Sample]:
    t0 = time.perf_counter()
    hosts = start_hosts(tmp / "hosts", args.hosts, prefix="host")
    try:
        log(f"started {len(hosts)} sshd hosts in {time.perf_counter() - t0:.1f} s")
        bench = set_up(tmp, hosts)
        for number in range(args.runs + 1):
            one_round(bench, number)
        return bench.samples
    finally:
        stop_hosts(hosts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(conductor.cli_argv()[0]).exists():
        log("the opsconductor command is missing: pip install -e . into this interpreter's venv")
        return 2
    if not ansible_bin().exists():
        log("ansible-core is missing: `make bench-fanout` (pip install -e '.[bench]')")
        return 2
    started = time.perf_counter()
    facts = machine()
    # Short, so that ControlPath sockets stay under the ~104-byte limit of a Unix socket path.
    with tempfile.TemporaryDirectory(prefix="ocfo-", dir="/tmp") as tmp:
        samples = measure(args, Path(tmp))
    facts["load average (1 min) at the end"] = run.load_average()
    path = f"PYTHONPATH={os.environ.get('PYTHONPATH', '.')}"  # which src/ the run imported
    results = report.Results(
        command=shlex.join([path, ".venv/bin/python", "bench/fanout.py", *sys.argv[1:]]),
        machine=facts,
        hosts=args.hosts,
        runs=args.runs,
        samples=samples,
        wall_s=time.perf_counter() - started,
        cli=shlex.join(["opsconductor", *conductor.cli_argv()[1:]]),
    )
    args.output.write_text(report.render(results), encoding="utf-8")
    log(f"wrote {args.output} after {results.wall_s:.0f} s")
    print(report.summary(results))
    return 1 if failures(samples) else 0


if __name__ == "__main__":
    sys.exit(main())
