"""How long the command line takes, end to end: `opsconductor --help` and one `ask`, each a
whole process, beside the floor under them measured in the same run (the interpreter alone,
and the import of SQLAlchemy's asyncio extension that any command touching the store pays).

    .venv/bin/python bench/cli_startup.py                       # this tree
    .venv/bin/python bench/cli_startup.py --baseline ../main/src   # and another, A/B

With --baseline the two trees run in turn (A B A B ...) against stores seeded alike, so that
a machine whose speed drifts moves both; the ratios are taken run by run. Each command runs
once unmeasured first, with byte-code caches kept in a temporary folder per tree (an installed
package has them; the trees themselves are not written to). The results are appended to the
notes of docs/benchmarks.md, which `bench/run.py` keeps when it rewrites the file."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "how many assets do we have?"
INVENTORY = ROOT / "src" / "opsconductor" / "demo" / "inventory.yaml"
NOTES_END = "<!-- end of notes -->"


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Tree:
    """A source tree to time, with its own store and byte-code cache."""

    label: str
    src: Path
    home: Path
    pycache: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONDUCTOR_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            PYTHONPATH=str(self.src),
            OPSCONDUCTOR_HOME=str(self.home),
            PYTHONPYCACHEPREFIX=str(self.pycache),
            COLUMNS="100",
        )
        return env


COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import sqlalchemy.ext.asyncio'": ["-c", "import sqlalchemy.ext.asyncio"],
    "opsconductor --help": ["-m", "opsconductor", "--help"],
    f"opsconductor ask {QUESTION!r} --format json": [
        "-m",
        "opsconductor",
        "ask",
        QUESTION,
        "--format",
        "json",
    ],
}


def run_once(tree: Tree, argv: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system, the child's own accounting) of one process."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, *argv], env=tree.env(), stdout=output, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"{argv} in {tree.src} exited {child.returncode}: {text[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime, text


def check_answer(text: str) -> None:
    execution = json.loads(text).get("execution") or {}
    if execution.get("status") != "succeeded":
        raise RuntimeError(f"ask did not succeed: {text[:500]}")


def seed(tree: Tree) -> None:
    run_once(tree, ["-m", "opsconductor", "assets", "import", str(INVENTORY)])


def measure(trees: list[Tree], runs: int) -> dict[str, dict[str, Timing]]:
    """Every command of every tree, `runs` times, the trees in turn."""
    results = {tree.label: {name: Timing() for name in COMMANDS} for tree in trees}
    for name, argv in COMMANDS.items():
        for tree in trees:
            run_once(tree, argv)  # warm-up: byte-code caches, the store's first open
        for _ in range(runs):
            for tree in trees:
                wall, cpu, text = run_once(tree, argv)
                if "ask" in argv:
                    check_answer(text)
                results[tree.label][name].wall.append(wall)
                results[tree.label][name].cpu.append(cpu)
    return results


def commit(src: Path) -> str:
    """The commit of the tree, and whether its files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(src), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return f"{head} (with uncommitted changes)" if dirty else head


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def table(results: dict[str, dict[str, Timing]], labels: list[str]) -> list[str]:
    head = "| command | " + " | ".join(f"{label} wall | {label} cpu" for label in labels)
    lines = [head + (" | A/B wall | A/B cpu |" if len(labels) == 2 else " |")]
    lines.append("|---|" + "---:|" * (2 * len(labels) + (2 if len(labels) == 2 else 0)))
    for name in COMMANDS:
        cells = []
        for label in labels:
            timing = results[label][name]
            cells += [ms(statistics.median(timing.wall)), ms(statistics.median(timing.cpu))]
        if len(labels) == 2:
            a, b = (results[label][name] for label in labels)
            cells += [
                f"{statistics.median(x / y for x, y in zip(a.wall, b.wall, strict=True)):.2f}",
                f"{statistics.median(x / y for x, y in zip(a.cpu, b.cpu, strict=True)):.2f}",
            ]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines


def report(
    results: dict[str, dict[str, Timing]], trees: list[Tree], runs: int, loads: tuple[str, str]
) -> str:
    labels = [tree.label for tree in trees]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = f"{platform.node()} ({os.cpu_count()} cores, {cpu_model()})"
    lines = [
        f"### CLI start-up ({when}, `bench/cli_startup.py`)",
        "",
        f"Machine {where}, Python {platform.python_version()}; load average (1 min) "
        f"{loads[0]} at the start, {loads[1]} at the end. Median of {runs} runs each, the "
        "demo inventory (8 assets) in a fresh SQLite store per tree; `cpu` is the child's "
        "user + system time, which other work on the machine moves less than wall time.",
        "Trees: " + "; ".join(f"{t.label} = `{t.src}` at {commit(t.src)}" for t in trees) + ".",
        "",
        *table(results, labels),
        "",
    ]
    return "\n".join(lines)


def append_to_notes(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if NOTES_END in text:
        before, _, after = text.partition(NOTES_END)
        text = f"{before.rstrip()}\n\n{section}\n{NOTES_END}{after}"
    else:
        text = f"{text.rstrip()}\n\n{section}"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command")
    parser.add_argument("--baseline", type=Path, help="another source tree (its src/) for A/B")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="opsconductor-cli-bench-") as tmp:
        sources = [("A", ROOT / "src")]
        if args.baseline:
            sources.append(("B", args.baseline.resolve()))
        trees = [
            Tree(label, src, Path(tmp) / f"home-{label}", Path(tmp) / f"pyc-{label}")
            for label, src in sources
        ]
        for tree in trees:
            seed(tree)
        start_load = f"{os.getloadavg()[0]:.2f}"
        results = measure(trees, args.runs)
        section = report(results, trees, args.runs, (start_load, f"{os.getloadavg()[0]:.2f}"))
    print(section)
    if not args.no_write:
        append_to_notes(args.output, section)
        print(f"appended to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
