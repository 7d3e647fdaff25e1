"""The shared corpus (../shared/eval/upstream), judged by hand in docs/eval-judgements.yaml:
no outcome may change without being judged again, and none is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsconductor.config import load_settings
from opsconductor.evaluation import Standing, load_judgements, run_eval

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("OPSCONDUCTOR_EVAL_DIR", ROOT.parent / "shared" / "eval" / "upstream"))


@pytest.mark.skipif(
    not (CORPUS / "requests.jsonl").is_file(), reason=f"no shared corpus at {CORPUS}"
)
async def test_every_outcome_is_judged_and_none_is_wrong(tmp_path: Path) -> None:
    report = await run_eval(
        CORPUS / "requests.jsonl", CORPUS / "assets.json", load_settings(home=tmp_path / "home")
    )
    report.judgements = load_judgements(ROOT / "docs" / "eval-judgements.yaml")
    standing = {r.request.id: report.standing(r) for r in report.results}
    changed = sorted(i for i, s in standing.items() if s in {Standing.REJUDGE, Standing.UNJUDGED})
    assert changed == [], "outcomes changed since judged: re-run `make eval` and judge them"
    wrong = {i for i, s in standing.items() if s is Standing.WRONG}
    assert wrong == set(), f"judged wrong: {sorted(wrong)} (see their notes in the judgements)"
    assert len(report.results) == 308
