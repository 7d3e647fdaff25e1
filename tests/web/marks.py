"""The harmless changes the browser tests make: the tools of `catalog/` (given to the servers
with OPSCONDUCTOR_CATALOG_DIRS) run `oc-mark` on a test host, a stand-in of ours that records
its argv in the host's `received.jsonl`, waits as long as the host's `delay` file says, then
records the same argv in `finished.jsonl`, and exits 1 where a test made marks fail."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sshhosts import SshHost

CATALOG = Path(__file__).parent / "catalog"
PROGRAM = "oc-mark"

_STANDIN = """#!/usr/bin/env python3
import json, os, sys, time
directory = {directory!r}
def note(kind):
    line = json.dumps({{"program": "oc-mark", "argv": sys.argv[1:]}}) + "\\n"
    with open(os.path.join(directory, kind), "a") as handle:
        handle.write(line)
note("received.jsonl")
delay_file = os.path.join(directory, "delay")
time.sleep(float(open(delay_file).read()) if os.path.exists(delay_file) else 0)
note("finished.jsonl")
if os.path.exists(os.path.join(directory, "marks-fail")):
    print("oc-mark: this host was told to fail", file=sys.stderr)
    sys.exit(1)
print("marked", *sys.argv[1:])
"""


def install(host: SshHost) -> None:
    path = host.bin_dir / PROGRAM
    path.write_text(_STANDIN.format(directory=str(host.directory)))
    path.chmod(0o755)


def make_marks_fail(host: SshHost, failing: bool = True) -> None:
    flag = host.directory / "marks-fail"
    if failing:
        flag.touch()
    else:
        flag.unlink(missing_ok=True)


def started(host: SshHost) -> list[list[str]]:
    """The argv of each mark begun on `host`, oldest first."""
    return host.received(PROGRAM)


def finished(host: SshHost) -> list[list[str]]:
    """The argv of each mark that ran to its end on `host`, oldest first."""
    path = host.directory / "finished.jsonl"
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [e["argv"] for e in entries if e["program"] == PROGRAM]
