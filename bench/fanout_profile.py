"""Where an in-process OpsConductor fan-out spends its time beyond the raw asyncssh floor.

    PYTHONPATH=src:. .venv/bin/python bench/fanout_profile.py [--hosts 50] [--runs 3]

On the hosts of tests/sshhosts.py, as bench/fanout.py sets them up: a warm-up of both, then
`--runs` pairs of timed runs (the in-process `ask` of bench/fanout_conductor.py and the raw
script of bench/fanout_raw.py) with wall-time spans, then one `ask` and one raw run under
cProfile. The spans come from wrappers this script puts around OpsConductor's and asyncssh's
functions in its own process (nothing in src/ changes): the pipeline's stages, the claim, the
credentials, each host's connect (from the connector's call, and from asyncssh's TCP connect
on), its command, its start and finish writes, and every group commit. Times are in ms from
the start of the run (`asyncio.run`). Prints a text report on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.sshhosts

import asyncssh.connection  # noqa: E402
from tests.sshhosts import start_hosts, stop_hosts  # noqa: E402

import fanout_conductor as conductor  # noqa: E402
import fanout_raw as raw  # noqa: E402
from opsconductor import app as app_module  # noqa: E402
from opsconductor.app import OpsConductor  # noqa: E402
from opsconductor.connectors.ssh import SshConnector  # noqa: E402
from opsconductor.credentials.run_secrets import RunSecrets  # noqa: E402
from opsconductor.execution import endpoints  # noqa: E402
from opsconductor.execution import runner as runner_module  # noqa: E402
from opsconductor.execution.recorder import DbRecorder  # noqa: E402
from opsconductor.execution.runner import Runner  # noqa: E402
from opsconductor.execution.service import ExecutionService  # noqa: E402
from opsconductor.execution.transactions import Transactions  # noqa: E402
from opsconductor.pipeline import stage_a  # noqa: E402
from opsconductor.pipeline.pipeline import Pipeline  # noqa: E402
from opsconductor.store.database import Database  # noqa: E402


@dataclass
class Span:
    name: str
    start: float
    end: float
    key: str | None = None  # the host, for per-host spans
    size: int | None = None  # a group commit's writes


@dataclass
class Recording:
    """The spans of one run, in seconds from its start."""

    t0: float = 0.0
    spans: list[Span] = field(default_factory=list)

    def add(self, name: str, start: float, key: str | None = None, size: int | None = None) -> None:
        self.spans.append(Span(name, start - self.t0, time.perf_counter() - self.t0, key, size))

    def named(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.name == name]


CURRENT = Recording()


def _timed(name: str, key: Callable[..., str | None] | None = None) -> Callable[..., Any]:
    """Wrap an async function so that each call adds a span to CURRENT."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                CURRENT.add(name, start, key(*args, **kwargs) if key else None)

        return timed

    return wrap


def _patch(owner: Any, attribute: str, name: str, key: Callable[..., str | None] | None = None):
    setattr(owner, attribute, _timed(name, key)(getattr(owner, attribute)))


def _target(_self: Any, target: Any, *_: Any, **__: Any) -> str:
    return str(target.name)


def _second_target(_self: Any, _connection: Any, target: Any, *_: Any, **__: Any) -> str:
    return str(target.name)


def _outcome_host(_self: Any, outcome: Any) -> str | None:
    return outcome.target


def _port(options: Any, *_: Any) -> str:
    return str(options.port)


def instrument() -> None:
    """Wrap the functions whose spans the report shows."""
    _patch(OpsConductor, "open", "OpsConductor.open")
    _patch(OpsConductor, "close", "OpsConductor.close")
    _patch(Pipeline, "plan", "plan (stages A-D, endpoints bound)")
    _patch(Pipeline, "index", "inventory index")
    _patch(ExecutionService, "create", "record the execution and its approval")
    _patch(ExecutionService, "approve", "approve (requester's --yes)")
    _patch(ExecutionService, "run", "execution: service.run (claim to result)")
    _patch(runner_module, "claim", "claim")
    _patch(Runner, "result", "result read back (build_result)")
    _patch(Runner, "_finish", "finish write")
    _patch(DbRecorder, "create_rows", "step rows created")
    _patch(DbRecorder, "publish", "progress event write")
    _patch(DbRecorder, "step_started", "host: start write", _outcome_host)
    _patch(DbRecorder, "step_finished", "host: finish write", _outcome_host)
    _patch(RunSecrets, "_credentials", "credentials opened (vault)")
    _patch(SshConnector, "_connect", "host: connect (connector)", _target)
    _patch(SshConnector, "_execute", "host: command", _second_target)
    _patch(asyncssh.connection, "_connect", "host: asyncssh TCP+SSH connect", _port)
    _patch(raw, "_one_host", "raw host: connect+run", lambda host, *_: host.name)
    _patch(Database, "close", "Database.close")
    _patch(Database, "connect", "Database.connect (in open)")
    _patch(endpoints, "resolve", "endpoints.resolve (plan, approve, guard)")
    _patch(stage_a, "understand", "understand (stage A, rules brain)")
    load_catalog = app_module.load_catalog

    def timed_catalog(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return load_catalog(*args, **kwargs)
        finally:
            CURRENT.add("load_catalog (in open)", start)

    app_module.load_catalog = timed_catalog

    original = getattr(Transactions, "_commit_batch", None)  # not before group commit

    async def commit_batch(self: Transactions, batch: Any) -> None:
        start = time.perf_counter()
        try:
            await original(self, batch)
        finally:
            CURRENT.add("group commit", start, size=len(batch))

    if original is not None:
        Transactions._commit_batch = commit_batch  # type: ignore[method-assign]

    original_run = asyncio.run

    def run(main: Any, **kwargs: Any) -> Any:
        CURRENT.t0 = time.perf_counter()
        CURRENT.spans.clear()
        return original_run(main, **kwargs)

    asyncio.run = run  # type: ignore[assignment]


def what_if_shared_credentials() -> None:
    """What if RunSecrets opened the credentials once for all waiters (a shared future, and no
    lock at all once open) instead of handing its lock from one host to the next?"""
    from opsconductor.credentials.masking import Masker
    from opsconductor.credentials.run_secrets import OpenedCredentials

    async def credentials(self: RunSecrets) -> OpenedCredentials:
        if self._opened is not None:
            return self._opened
        loading = self.__dict__.get("_loading")
        if loading is None:
            load = self._load
            loading = asyncio.ensure_future(load() if load else _none())
            self.__dict__["_loading"] = loading
        opened = await asyncio.shield(loading)
        if self._opened is None:
            self._masker = Masker.of(opened.secrets.values())
            self._opened = opened
        return self._opened

    async def _none() -> OpenedCredentials:
        return OpenedCredentials()

    _patch_plain(RunSecrets, "_credentials", credentials, "credentials opened (vault)")


def what_if_df_raw() -> None:
    """What if parse_df took jc's raw strings (ints already, for `df -P -k`) rather than jc's
    processed rows, whose size conversion builds two namedtuple classes per value?"""
    import jc.parsers.df as jc_df

    from opsconductor.catalog import parsers
    from opsconductor.catalog.parsers import posix
    from opsconductor.catalog.parsers.base import Parsed, disk_summary, text, whole

    def row_of(row: dict[str, Any]) -> dict[str, Any]:
        block = int(next(k for k in row if k.endswith("_blocks")).partition("_")[0])
        capacity = row.get("capacity") or "-"
        return {
            "filesystem": text(row["filesystem"]),
            "mount": text(row["mounted_on"]),
            "size_bytes": whole(row[f"{block}_blocks"]) * block,
            "used_bytes": whole(row["used"]) * block,
            "available_bytes": whole(row["available"]) * block,
            "use_percent": 0 if capacity == "-" else whole(capacity.rstrip("%")),
        }

    def parse_df(stdout: str) -> Parsed:
        rows = [row_of(r) for r in jc_df.parse(stdout, raw=True, quiet=True)]
        if not rows:
            raise ValueError("no filesystems")
        disks = [
            (r["mount"], float(r["use_percent"]), r["available_bytes"])
            for r in rows
            if r["filesystem"] not in posix.PSEUDO_FILESYSTEMS
            and not r["filesystem"].startswith("/dev/loop")
            and r["size_bytes"] > 0
        ]
        return Parsed(data=rows, summary=disk_summary(disks, "/", "filesystem"))

    posix.parse_df = parse_df
    for table in vars(parsers).values():
        if isinstance(table, dict):
            for key, value in list(table.items()):
                if getattr(value, "__name__", None) == "parse_df":
                    table[key] = parse_df


def what_if_batched_updates() -> None:
    """What if the recorder's step-row UPDATEs of one group commit were one executemany at
    commit (as its events and audit rows already are) instead of one statement per host?"""
    from sqlalchemy import bindparam, event, update
    from sqlalchemy.orm import Session

    from opsconductor.execution import recorder as recorder_module
    from opsconductor.store.audit import record_event

    steps = recorder_module._STEPS
    pending = "bench.step_updates"

    @event.listens_for(Session, "before_commit")
    def write_updates(session: Session) -> None:
        rows = session.info.pop(pending, None)
        if rows:
            statement = update(steps).where(steps.c.id == bindparam("row_id"))
            session.execute(statement, rows)

    async def _write(self: DbRecorder, outcome: Any, event_type: str, details: Any) -> None:
        key = (outcome.step_id, outcome.target)
        data = {
            "step_id": outcome.step_id,
            "target": outcome.target,
            "state": outcome.state.value,
            "summary": outcome.summary,
            **details,
        }
        previous = self._states[key]
        recorder_module.check_step_transition(previous, outcome.state.value)
        values = recorder_module._outcome_values(outcome)

        async def write(session: Any) -> None:
            if key in self._noted:
                self._noted[key].update(values)
            else:
                session.info.setdefault(pending, []).append(
                    {"row_id": self._row_ids[key], **values}
                )
            await record_event(
                session,
                actor=self.actor,
                entity_type="step",
                entity_id=f"{self.execution_id}:{outcome.step_id}",
                action="transition",
                from_state=previous,
                to_state=outcome.state.value,
                reason=outcome.error,
                details={"target": outcome.target, **details},
            )
            recorder_module.store_event(session, self.execution_id, event_type, data)
            await recorder_module._store_facts(session, outcome)

        await self.tx.write(write)
        self._states[key] = outcome.state.value
        await self.tx.publish(recorder_module.Event(self.execution_id, event_type, data))

    DbRecorder._write = _write  # type: ignore[method-assign]


def _patch_plain(owner: Any, attribute: str, fn: Callable[..., Any], name: str) -> None:
    setattr(owner, attribute, _timed(name)(fn))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f}"


def describe(recording: Recording, total: float) -> list[str]:
    """The run's spans: the single ones in order, the per-host ones as distributions."""
    lines = [f"  total wall {ms(total)} ms"]
    grouped: dict[str, list[Span]] = defaultdict(list)
    for span in sorted(recording.spans, key=lambda s: s.start):
        if span.name != "group commit":
            grouped[span.name].append(span)
    for name, spans in grouped.items():
        if len(spans) == 1:
            (span,) = spans
            lines.append(
                f"  {name:48} {ms(span.start)} → {ms(span.end)}  ({ms(span.end - span.start)} ms)"
            )
            continue
        starts = sorted(s.start for s in spans)
        ends = sorted(s.end for s in spans)
        lengths = [s.end - s.start for s in spans]
        lines.append(
            f"  {name:32} n={len(spans):3d} start first {ms(starts[0])} median "
            f"{ms(statistics.median(starts))} last {ms(starts[-1])} | end last {ms(ends[-1])} | "
            f"each median {ms(statistics.median(lengths))} max {ms(max(lengths))}"
        )
    commits = recording.named("group commit")
    if commits:
        sizes = [c.size or 0 for c in commits]
        busy = sum(c.end - c.start for c in commits)
        lines.append(
            f"  group commits: {len(commits)} of {sum(sizes)} writes (sizes {sizes}); "
            f"{ms(busy)} ms committing in all"
        )
        for commit in commits:
            lines.append(f"    commit of {commit.size:3d} {ms(commit.start)} → {ms(commit.end)}")
    return lines


PACKAGES = (
    "opsconductor",
    "sqlalchemy",
    "aiosqlite",
    "asyncssh",
    "cryptography",
    "jc",
    "pydantic",
    "yaml",
    "greenlet",
    "asyncio",
)


def by_package(stats: pstats.Stats) -> str:
    """Own time (tottime) summed by the package a function belongs to; C built-ins apart."""
    totals: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        _cc, ncalls, tottime, _cum, _callers = row
        bucket = next((p for p in PACKAGES if f"/{p}/" in filename), None)
        if bucket is None and "site-packages" not in filename and filename != "~":
            bucket = f"stdlib {Path(filename).name}"
        if bucket is None:
            bucket = f"built-in {function}" if filename == "~" else "other site-packages"
            if filename == "~" and tottime < 0.02:
                bucket = "built-ins (each < 20 ms)"
        totals[bucket] += tottime
        calls[bucket] += ncalls
    lines = ["own time by package (ms, calls):"]
    for bucket, total in sorted(totals.items(), key=lambda kv: -kv[1])[:30]:
        lines.append(f"  {bucket:52} {ms(total)} ms  {calls[bucket]:8d} calls")
    return "\n".join(lines) + "\n\n"


def profile(work: Callable[[], Any], top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(by_package(stats))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


CLI_MAIN = "import sys; from opsconductor.cli import main; sys.argv[0] = 'opsconductor'; main()"


def cli_profile(tmp: Path, template: Path, known: Path, top: int) -> None:
    """The CLI as bench/fanout.py runs it: wall time plain, its imports (-X importtime), and a
    cProfile of the whole process."""
    import subprocess

    script = tmp / "opsconductor_cli.py"  # cProfile runs a script file, not -c
    script.write_text(CLI_MAIN + "\n", encoding="utf-8")

    def run(label: str, *python_args: str) -> subprocess.CompletedProcess[str]:
        home = tmp / f"cli-{label}"
        shutil.copytree(template, home)
        argv = [sys.executable, *python_args, str(script), *conductor.cli_argv()[1:]]
        t0 = time.perf_counter()
        done = subprocess.run(
            argv, env=conductor.cli_env(home, known), capture_output=True, text=True, check=False
        )
        print(f"CLI {label}: exit {done.returncode}, {ms(time.perf_counter() - t0)} ms wall")
        return done

    run("plain")
    imports = run("importtime", "-X", "importtime").stderr.splitlines()
    rows = [line.split("|") for line in imports if line.startswith("import time:")]
    top_level = [(int(r[1]), r[2].rstrip()) for r in rows[1:] if not r[2].startswith("  ")]
    total = sum(cumulative for cumulative, _ in top_level)
    print(f"CLI imports: {ms(total / 1e6)} ms in all; the largest top-level ones:")
    for cumulative, name in sorted(top_level, reverse=True)[:12]:
        print(f"  {name.strip():48} {ms(cumulative / 1e6)} ms")
    stats_path = Path(tempfile.gettempdir()) / "fanout-cli.pstats"  # kept, for pstats
    run("cProfile", "-m", "cProfile", "-o", str(stats_path))
    out = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=out)
    out.write(by_package(stats))
    stats.sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="timed pairs with spans")
    parser.add_argument("--top", type=int, default=40, help="cProfile rows")
    parser.add_argument(
        "--what-if",
        action="append",
        default=[],
        choices=["shared-credentials", "df-raw", "batched-updates"],
        help="patch this process's OpsConductor so (bench only), to size a fix",
    )
    parser.add_argument("--no-profile", action="store_true", help="spans only, no cProfile")
    parser.add_argument(
        "--cli", action="store_true", help="also: the CLI's imports and a cProfile of one CLI run"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    instrument()
    if "shared-credentials" in args.what_if:
        what_if_shared_credentials()
    if "df-raw" in args.what_if:
        what_if_df_raw()
    if "batched-updates" in args.what_if:
        what_if_batched_updates()
    with tempfile.TemporaryDirectory(prefix="ocfp-", dir="/tmp") as name:
        tmp = Path(name)
        hosts = start_hosts(tmp / "hosts", args.hosts, prefix="host")
        try:
            known = tmp / "known_hosts"
            known.write_text("".join(h.known_hosts_line() + "\n" for h in hosts))
            template = tmp / "template"
            asyncio.run(conductor.seed_home(template, known, hosts))
            counter = iter(range(10_000))

            def ask() -> Any:
                home = tmp / f"home-{next(counter)}"
                shutil.copytree(template, home)
                return conductor.run_in_process(home, known, len(hosts))

            def floor() -> Any:
                return raw.run_raw(hosts, known)

            ask(), floor()  # warm-up
            for number in range(1, args.runs + 1):
                for label, work in (("ask", ask), ("raw", floor))[:: 1 if number % 2 else -1]:
                    outcome = work()
                    print(f"run {number} {label}: {outcome.detail}")
                    print("\n".join(describe(CURRENT, outcome.seconds)))
                    sys.stdout.flush()
            if args.cli:
                cli_profile(tmp, template, known, args.top)
            if args.no_profile:
                return 0
            print("\n=== cProfile: one in-process ask ===")
            print(profile(ask, args.top))
            print("\n=== cProfile: one raw run ===")
            print(profile(floor, args.top // 2))
        finally:
            stop_hosts(hosts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
