"""The brains side by side: the same requests of a corpus dry-run by the rules brain and by
the LLM brain (`opsconductor eval --brain rules --brain llm`), outcomes and verdicts per brain,
then each request on which they differ. The runs and the verdicts are those of `evaluation`."""

from __future__ import annotations

from pathlib import Path

from opsconductor.evaluation import (
    BRAINS,
    JUDGEMENTS_NAME,
    BrainName,
    EvalReport,
    Outcome,
    RequestResult,
    Standing,
    call_text,
    fingerprint,
    load_judgements,
    run_throwaway,
    table_cell,
    targets_text,
    truncate,
)


def main_compare(
    corpus: Path,
    inventory: Path,
    output: Path,
    judgements: Path | None = None,
    *,
    sample: int | None = None,
) -> dict[BrainName, EvalReport]:
    """Run the same requests with each brain and write the comparison to `output`."""
    judged = load_judgements(judgements or output.with_name(JUDGEMENTS_NAME))
    reports = {brain: run_throwaway(corpus, inventory, brain, sample) for brain in BRAINS}
    for report in reports.values():
        report.judgements = judged
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_comparison(reports), encoding="utf-8")
    return reports


_SCORED = (Standing.RIGHT, Standing.CLARIFICATION, Standing.WRONG)


def render_comparison(reports: dict[BrainName, EvalReport]) -> str:
    """The brains side by side on the same requests: outcomes and verdicts per brain, in total
    and per group, then each request on which they differ."""
    first = next(iter(reports.values()))
    model = next((r.model for r in reports.values() if r.model), None)
    lines = [
        "# Understanding evaluation: the brains compared",
        "",
        f"Produced by `opsconductor eval --brain rules --brain llm` on "
        f"{first.produced_on.isoformat()}: the same {len(first.results)} requests of "
        f"`{first.corpus}` dry-run by each brain against the upstream sample inventory "
        f"({first.asset_count} assets)"
        + (f"; the LLM brain asked `{model}`." if model else ".")
        + " A verdict stands only for the outcome that was judged (by its fingerprint), so an "
        "outcome no one judged yet counts as *not judged*. With the LLM brain a request the "
        "model could not read is an *error* (no fallback to the rules).",
        "",
        "## Summary",
        "",
        "| brain | requests | "
        + " | ".join(o.value for o in Outcome)
        + " | "
        + " | ".join(s.value for s in _SCORED)
        + " | not judged |",
        "|---|---:|" + "---:|" * (len(Outcome) + len(_SCORED) + 1),
    ]
    for brain, report in reports.items():
        counts, standings = report.counts(), report.standings()
        unjudged = standings[Standing.REJUDGE] + standings[Standing.UNJUDGED]
        cells = [brain, str(counts.total()), *(str(counts[o]) for o in Outcome)]
        cells += [*(str(standings[s]) for s in _SCORED), str(unjudged)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Right (or rightly asked) per group", ""]
    lines += ["| group | requests | " + " | ".join(reports) + " |"]
    lines += ["|---|---:|" + "---:|" * len(reports)]
    for group in [*first.groups(), None]:
        cells = [group or "**total**", str(first.counts(group).total())]
        for report in reports.values():
            standings = report.standings(group)
            cells.append(str(standings[Standing.RIGHT] + standings[Standing.CLARIFICATION]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += _differences(reports)
    return "\n".join(lines) + "\n"


def _differences(reports: dict[BrainName, EvalReport]) -> list[str]:
    brains = list(reports)
    by_id = [{r.request.id: r for r in report.results} for report in reports.values()]
    differing = [
        request_id
        for request_id in by_id[0]
        if len({fingerprint(results[request_id]) for results in by_id}) > 1
    ]
    lines = [
        "",
        f"## Where they differ ({len(differing)} requests)",
        "",
        "| id | request | " + " | ".join(brains) + " |",
        "|---|---|" + "---|" * len(brains),
    ]
    for request_id in differing:
        results = [results[request_id] for results in by_id]
        cells = [request_id, truncate(results[0].request.text, 80)]
        cells += [
            _outcome_cell(report, result)
            for report, result in zip(reports.values(), results, strict=True)
        ]
        lines.append("| " + " | ".join(table_cell(c) for c in cells) + " |")
    return lines


def _outcome_cell(report: EvalReport, result: RequestResult) -> str:
    if result.outcome is Outcome.UNDERSTOOD:
        detail = "; ".join(f"{call_text(s)} → {targets_text(s.targets)}" for s in result.steps)
        detail += f" [level {result.approval_level}]"
    elif result.outcome is Outcome.CLARIFICATION:
        detail = f"{result.reason}: {result.question}"
    else:
        detail = result.message or ""
    standing = report.standing(result).value
    return f"**{result.outcome.value}** ({standing}): {truncate(detail, 140)}"
