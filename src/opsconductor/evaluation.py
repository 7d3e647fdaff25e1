"""Measures understanding: a request corpus through stages A-D (a dry run), tallied per group.

The corpus is JSONL, one ``{"id", "text", "group", "source", "upstream_hints"}`` object a line;
the inventory is the upstream sample (``{"assets": [...]}``), adapted to our :class:`Asset`.
Nothing is executed or recorded; the store is a throwaway one in a temporary folder.

Outcomes are judged by hand in a YAML file beside the report (``docs/eval-judgements.yaml``),
one ``{verdict, note, fingerprint}`` per request id. The fingerprint is of the outcome that was
judged: when the outcome changes, the request is reported as "re-judge", never under its old
verdict.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sys
import tempfile
import traceback
import typing
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsconductor.app import OpsConductor
from opsconductor.config import Settings, load_settings
from opsconductor.errors import BrainUnavailable
from opsconductor.inventory.models import Asset, Connection, DeviceType, OsType, Protocol
from opsconductor.inventory.repository import upsert_assets
from opsconductor.pipeline.answer import Answer

logger = logging.getLogger(__name__)

# The fields of ours the upstream has under the same name; its other fields are dropped.
_KEPT_FIELDS = (
    *("name", "hostname", "ip_address", "os_version", "environment"),
    *("owner", "criticality", "description"),
)
# Upstream "network" covers switches, load balancers, VPN gateways and firewalls.
_NETWORK_KINDS = (
    (DeviceType.FIREWALL, ("firewall",)),
    (DeviceType.SWITCH, ("switch",)),
    (DeviceType.ROUTER, ("router", "gateway")),
)
_SSH_SERVICES = ("ssh", "sftp")  # sftp is served by sshd, on the ssh port
_REQUEST_HEADER = (
    "| id | request | outcome | verdict | intent | plan or question | upstream hint |",
    "|---|---|---|---|---|---|---|",
)
JUDGEMENTS_NAME = "eval-judgements.yaml"  # beside the report it judges
BrainName = typing.Literal["rules", "llm"]
BRAINS: tuple[BrainName, ...] = ("rules", "llm")


class Outcome(StrEnum):
    UNDERSTOOD = "understood"  # a grounded plan exists
    CLARIFICATION = "clarification"  # the pipeline asked a question instead of planning
    ERROR = "error"  # the pipeline refused the request with an error response
    CRASH = "crash"  # plan() raised, or answered in a shape it never should: a bug


class Verdict(StrEnum):
    RIGHT = "right"  # the plan or answer does what a careful ops engineer meant
    CLARIFICATION = "clarification"  # asking was right, and the question names what is missing
    WRONG = "wrong"  # anything else: a dropped part, wrong hosts, a question naming nothing


class Standing(StrEnum):
    """Where a request stands in the report: its verdict, or why it has none."""

    RIGHT = "right"
    CLARIFICATION = "right clarification"
    WRONG = "wrong"
    REJUDGE = "re-judge"  # judged, but the outcome has changed since
    UNJUDGED = "not yet judged"


class Judgement(BaseModel):
    """One hand judgement of one request's outcome."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Verdict
    note: str = Field(min_length=1)
    fingerprint: str = Field(pattern=r"^[0-9a-f]{12}$")


@dataclass(frozen=True)
class Request:
    """One corpus row."""

    id: str
    text: str
    group: str
    hints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRow:
    tool: str
    targets: tuple[str, ...]
    inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RequestResult:
    """What the dry run made of one request."""

    request: Request
    outcome: Outcome
    intent: str | None = None
    confidence: float | None = None
    steps: tuple[StepRow, ...] = ()
    approval_level: int | None = None
    mode: str | None = None
    reason: str | None = None  # clarification reason
    question: str | None = None  # clarification question
    options: tuple[str, ...] = ()  # what the clarification offers to choose from
    message: str | None = None  # error or crash message


@dataclass
class EvalReport:
    corpus: str
    asset_count: int
    results: list[RequestResult]
    produced_on: date = field(default_factory=lambda: datetime.now(UTC).date())
    judgements: dict[str, Judgement] = field(default_factory=dict)
    brain: BrainName = "rules"
    model: str | None = None  # the LLM brain's model

    def groups(self) -> list[str]:
        """Group names in the order they first appear in the corpus."""
        return list(dict.fromkeys(r.request.group for r in self.results))

    def counts(self, group: str | None = None) -> Counter[Outcome]:
        return Counter(r.outcome for r in self.results if group in (None, r.request.group))

    def standing(self, result: RequestResult) -> Standing:
        """The verdict of `result`, unless it was never judged or was judged in another shape."""
        judged = self.judgements.get(result.request.id)
        if judged is None:
            return Standing.UNJUDGED
        if judged.fingerprint != fingerprint(result):
            return Standing.REJUDGE
        return Standing[judged.verdict.name]

    def standings(self, group: str | None = None) -> Counter[Standing]:
        results = (r for r in self.results if group in (None, r.request.group))
        return Counter(self.standing(r) for r in results)


class Planner(typing.Protocol):
    """What the evaluation needs of a conductor: the dry run."""

    async def plan(self, text: str) -> Answer: ...


def fingerprint(result: RequestResult) -> str:
    """A short digest of what a judge sees: outcome, steps, approval level, question or message.

    A question is cut to its first 80 characters, so a reworded suggestion at its end does not
    unsettle a verdict; a change of tool, target, input or level always does.
    """
    seen = [
        result.outcome.value,
        [[s.tool, list(s.targets), [list(i) for i in s.inputs]] for s in result.steps],
        result.approval_level,
        result.reason,
        (result.question or result.message or "")[:80],
        list(result.options),
    ]
    encoded = json.dumps(seen, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:12]


def load_judgements(path: Path) -> dict[str, Judgement]:
    """The hand judgements keyed by request id; no file means nothing is judged yet."""
    if not path.exists():
        return {}
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(rows, dict):
        raise ValueError(f"{path}: expected a mapping of request id to judgement")
    try:
        return {str(key): Judgement.model_validate(row) for key, row in rows.items()}
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from None


def upstream_assets(path: Path) -> list[Asset]:
    """The upstream sample inventory, adapted to our asset shape (extra fields dropped)."""
    rows = json.loads(path.read_text(encoding="utf-8"))["assets"]
    return [_adapt_asset(row) for row in rows]


def _adapt_asset(row: dict[str, Any]) -> Asset:
    values = {key: row[key] for key in _KEPT_FIELDS if row.get(key) not in (None, "")}
    os_type = row.get("os_type")
    values["os_type"] = os_type if os_type in set(OsType) else OsType.OTHER
    values["device_type"] = _device_type(row)
    values["tags"] = list(row.get("tags") or [])
    # The upstream's site is its data centre ("DC-SJC-01"); ours is `location`.
    if row.get("data_center"):
        values["location"] = row["data_center"]
    values["connection"] = _connection(row, values["os_type"])
    return Asset.model_validate(values)


def _device_type(row: dict[str, Any]) -> DeviceType:
    kind = row.get("device_type")
    if kind in set(DeviceType):
        return DeviceType(kind)
    if kind == "network":
        words = " ".join([str(row.get("name", "")), *map(str, row.get("tags") or [])]).lower()
        for device_type, keywords in _NETWORK_KINDS:
            if any(k in words for k in keywords):
                return device_type
    return DeviceType.OTHER


def _connection(row: dict[str, Any], os_type: str) -> Connection:
    service = row.get("service_type")
    if service == "winrm":
        protocol, port, username = Protocol.WINRM, row.get("port"), row.get("username")
    elif service in _SSH_SERVICES:
        protocol, port, username = Protocol.SSH, row.get("port"), row.get("username")
    elif os_type == OsType.LINUX:
        # The primary service is an application (http, database, smtp…); reach the host by ssh,
        # on the upstream's secondary ssh service when it declares one.
        protocol, port, username = Protocol.SSH, None, row.get("username")
        if row.get("secondary_service_type") == "ssh":
            port = row.get("secondary_port")
            username = row.get("secondary_username") or username
    else:
        protocol, port, username = Protocol.NONE, None, None
    try:
        return Connection(protocol=protocol, port=port, username=username)
    except ValidationError:
        logger.warning("asset %s: username %r dropped", row.get("name"), username)
        return Connection(protocol=protocol, port=port)


def load_corpus(path: Path) -> list[Request]:
    """The JSONL corpus; a row without id, text or group, or a repeated id, is an error."""
    requests: list[Request] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not all(isinstance(row.get(k), str) for k in ("id", "text", "group")):
            raise ValueError(f"{path}:{number}: a row needs string id, text and group")
        if row["id"] in seen:
            raise ValueError(f"{path}:{number}: id {row['id']!r} is repeated")
        seen.add(row["id"])
        hints = row.get("upstream_hints") or {}
        requests.append(Request(row["id"], row["text"], row["group"], hints))
    return requests


async def run_eval(
    corpus: Path, inventory: Path, settings: Settings, sample: int | None = None
) -> EvalReport:
    """Import the inventory into the (fresh) store of `settings`, then dry-run every request
    (or `sample` of them, spread evenly over the corpus) with the brain the settings choose."""
    requests = sampled(load_corpus(corpus), sample)
    assets = upstream_assets(inventory)
    conductor = await OpsConductor.open(settings)
    try:
        _ask_the_model_every_time(conductor)
        async with conductor.db.session() as session:
            summary = await upsert_assets(session, assets)
        if summary.updated or summary.unchanged:
            raise ValueError(f"the store of {settings.home} is not fresh: it already had assets")
        results = [await evaluate(conductor.pipeline, request) for request in requests]
    finally:
        await conductor.close()
    model = settings.llm_model if settings.brain == "llm" else None
    return EvalReport(
        corpus=str(corpus),
        asset_count=len(assets),
        results=results,
        brain=settings.brain,
        model=model,
    )


def sampled(requests: list[Request], sample: int | None) -> list[Request]:
    """`sample` requests spread evenly over the corpus (every group keeps its share), in
    corpus order; all of them when `sample` is None or not smaller."""
    if sample is None or sample >= len(requests):
        return requests
    if sample < 1:
        raise ValueError("a sample needs at least one request")
    step = len(requests) / sample
    return [requests[int(i * step)] for i in range(sample)]


def _ask_the_model_every_time(conductor: OpsConductor) -> None:
    """An evaluation of the LLM brain measures the model: its circuit breaker, which would
    skip the model after a few failures in a row, never opens here (the settings already
    make a failure an error instead of a reading by the rules)."""
    if conductor.settings.brain != "llm":
        return
    from opsconductor.brain.llm.brain import LlmBrain
    from opsconductor.brain.llm.breaker import CircuitBreaker

    if isinstance(conductor.brain, LlmBrain):
        conductor.brain.breaker = CircuitBreaker(failures_to_open=sys.maxsize)


async def evaluate(planner: Planner, request: Request) -> RequestResult:
    """Dry-run one request; an exception is a bug, recorded as a crash with where it was raised."""
    try:
        answer = await planner.plan(request.text)
    except BrainUnavailable as exc:  # the model failed (the LLM brain, failing closed)
        return RequestResult(request, Outcome.ERROR, message=str(exc))
    except Exception as exc:  # a bug in the pipeline: record it and go on to the next request
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" (at {Path(frame.filename).name}:{frame.lineno})"
        message = f"{type(exc).__name__}: {exc}{where}"
        logger.error("request %s crashed: %s", request.id, message)
        return RequestResult(request, Outcome.CRASH, message=message)
    return classify(request, answer)


def classify(request: Request, answer: Answer) -> RequestResult:
    """Sort one answer into understood, clarification or error."""
    decision, plan, response = answer.decision, answer.plan, answer.response
    intent = decision.intent if decision else None
    named = f"{intent.category}.{intent.action}" if intent else None
    confidence = decision.confidence if decision else None
    if plan is not None:
        steps = tuple(
            StepRow(s.tool, tuple(s.targets), tuple((k, str(v)) for k, v in s.inputs.items()))
            for s in plan.steps
        )
        return RequestResult(
            request,
            Outcome.UNDERSTOOD,
            named,
            confidence,
            steps=steps,
            approval_level=plan.approval_level,
            mode=plan.mode.value,
        )
    asked = response.clarification
    if response.type == "clarification" and asked is not None:
        return RequestResult(
            request,
            Outcome.CLARIFICATION,
            named,
            confidence,
            reason=asked.reason,
            question=asked.question,
            options=tuple(asked.options),
        )
    if response.type == "error":
        return RequestResult(request, Outcome.ERROR, named, confidence, message=response.message)
    message = f"UnexpectedAnswer: no plan and a {response.type!r} response: {response.message}"
    return RequestResult(request, Outcome.CRASH, named, confidence, message=message)


def render_markdown(report: EvalReport) -> str:
    """The content of docs/eval.md: a summary per group, then every request of every group."""
    lines = [
        "# Understanding evaluation" + (" of the LLM brain" if report.brain == "llm" else ""),
        "",
        f"Produced by {_produced_by(report)} on {report.produced_on.isoformat()}: "
        f"{_which_requests(report)} run through stages A-D "
        f"(a dry run: nothing executed or stored) against the upstream sample inventory "
        f"({report.asset_count} assets). Hints are what the upstream tests expected; they are "
        "for judging, not our contract.",
        "",
        "## Summary",
        "",
        "| group | requests | " + " | ".join(o.value for o in Outcome) + " |",
        "|---|---:|" + "---:|" * len(Outcome),
    ]
    for group in [*report.groups(), None]:
        counts = report.counts(group)
        cells = [group or "**total**", str(counts.total()), *(str(counts[o]) for o in Outcome)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += _verdict_summary(report)
    for group in report.groups():
        lines += ["", f"## {group}", "", *_REQUEST_HEADER]
        rows = [r for r in report.results if r.request.group == group]
        lines += [_request_row(report, r) for r in sorted(rows, key=lambda r: r.request.id)]
    return "\n".join(lines) + "\n"


def _produced_by(report: EvalReport) -> str:
    if report.brain == "rules":
        return "`make eval`"
    return f"`opsconductor eval --brain llm` with the model `{report.model}`"


def _which_requests(report: EvalReport) -> str:
    count = len(report.results)
    if report.brain == "rules":
        return f"every request of `{report.corpus}` ({count} requests)"
    return f"{count} requests of `{report.corpus}`"


def _verdict_summary(report: EvalReport) -> list[str]:
    lines = [
        "",
        "## Verdicts",
        "",
        f"Judged by hand in `{JUDGEMENTS_NAME}`: *right* (the plan or answer does what was "
        "meant), *right clarification* (asking was right and the question names what is "
        "missing), *wrong*. A request whose outcome changed since it was judged is *re-judge*; "
        "its row shows the fingerprint of the new outcome.",
        "",
        "| group | " + " | ".join(s.value for s in Standing) + " |",
        "|---|" + "---:|" * len(Standing),
    ]
    for group in [*report.groups(), None]:
        counts = report.standings(group)
        cells = [group or "**total**", *(str(counts[s]) for s in Standing)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _verdict_cell(report: EvalReport, result: RequestResult) -> str:
    standing = report.standing(result)
    if standing in (Standing.REJUDGE, Standing.UNJUDGED):
        return f"**{standing.value}** (`{fingerprint(result)}`)"
    note = report.judgements[result.request.id].note
    return f"**{standing.value}**: {truncate(note, 160)}"


def _request_row(report: EvalReport, result: RequestResult) -> str:
    intent = result.intent or ""
    if intent and result.confidence is not None:
        intent += f" ({result.confidence:.2f})"
    if result.outcome is Outcome.UNDERSTOOD:
        detail = "; ".join(f"{call_text(s)} → {targets_text(s.targets)}" for s in result.steps)
        detail += f" [level {result.approval_level}, {result.mode}]"
    elif result.outcome is Outcome.CLARIFICATION:
        detail = f"{result.reason}: {result.question}"
        if result.options:
            detail += f" (options: {', '.join(result.options)})"
    else:
        detail = result.message or ""
    cells = [
        result.request.id,
        truncate(result.request.text, 80),
        f"**{result.outcome.value}**",
        _verdict_cell(report, result),
        intent,
        truncate(detail, 200),
        truncate(_compact_hints(result.request.hints), 120),
    ]
    return "| " + " | ".join(table_cell(c) for c in cells) + " |"


def call_text(step: StepRow) -> str:
    """A step as `tool(name=value, …)`, for a table cell."""
    arguments = ", ".join(f"{k}={v}" for k, v in step.inputs)
    return f"`{step.tool}({arguments})`" if arguments else f"`{step.tool}`"


def targets_text(targets: tuple[str, ...]) -> str:
    """The targets, or for more than three the count and the first three."""
    if len(targets) <= 3:
        return ", ".join(targets) or "(no targets)"
    return f"{len(targets)} assets ({', '.join(targets[:3])}, …)"


def _compact_hints(hints: dict[str, Any]) -> str:
    parts = []
    for key, value in hints.items():
        if isinstance(value, list):
            items = ("=".join(map(str, v)) if isinstance(v, list) else str(v) for v in value)
            value = ", ".join(items)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


def truncate(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def table_cell(text: str) -> str:
    """`text` safe inside a markdown table cell."""
    return text.replace("|", "\\|")


def main_eval(
    corpus: Path,
    inventory: Path,
    output: Path,
    judgements: Path | None = None,
    *,
    brain: BrainName = "rules",
    sample: int | None = None,
) -> EvalReport:
    """Run the evaluation with `brain` on a throwaway embedded store and write the markdown to
    `output`. The LLM brain's model is the one the settings (OPSCONDUCTOR_LLM_*) name.

    The judgements are read from `judgements`, by default the file beside `output`.
    """
    judged = load_judgements(judgements or output.with_name(JUDGEMENTS_NAME))
    report = run_throwaway(corpus, inventory, brain, sample)
    report.judgements = judged
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_markdown(report), encoding="utf-8")
    return report


def run_throwaway(
    corpus: Path, inventory: Path, brain: BrainName, sample: int | None
) -> EvalReport:
    """The report of `brain` on `corpus`, run on a new embedded store that is then removed."""
    with tempfile.TemporaryDirectory(prefix="opsconductor-eval-") as home:
        # database_url=None: never the database the environment points at, always a new file.
        # llm_fallback="fail": a request the model could not read is the model's error, not a
        # reading by the rules counted to its credit.
        settings = load_settings(
            home=Path(home),
            database_url=None,
            auto_migrate=True,
            brain=brain,
            llm_fallback="fail",
        )
        return asyncio.run(run_eval(corpus, inventory, settings, sample))
