"""First turns of one new conversation racing across two real `opsconductor serve` replicas over
one store (SQLite and PostgreSQL): none fails, each is answered as itself, and the stored
context is one turn's whole context."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select
from tests.sshhosts import SshHost
from tests.trust.conftest import Store
from tests.trust.processes import running, serve

from opsconductor.store.tables import ConversationRow

TURNS_PER_ROUND = 12
ROUNDS = 4


def first_turns(hosts: list[SshHost]) -> list[tuple[str, str, list[str]]]:
    kinds = [("restart nginx on {}", "restart_service"), ("check disk space on {}", "check_disk")]
    return [
        (phrase.format(host.name), action, [host.name])
        for host in hosts
        for phrase, action in kinds
    ]


def post(url: str, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/requests", headers=headers, json=body, timeout=60)


async def test_first_turns_across_two_replicas(store: Store, hosts: list[SshHost]) -> None:
    replicas = [serve(store.env, store.logs / f"serve-{n}.log") for n in range(2)]
    turns = first_turns(hosts)
    with running(*replicas), ThreadPoolExecutor(TURNS_PER_ROUND) as pool:
        for round_ in range(ROUNDS):
            conversation_id = f"replicas-{round_}"
            asked = [turns[n % len(turns)] for n in range(TURNS_PER_ROUND)]
            futures = [
                pool.submit(
                    post,
                    replicas[n % 2].url,
                    store.headers("alice"),
                    {"text": text, "dry_run": True, "conversation_id": conversation_id},
                )
                for n, (text, _, _) in enumerate(asked)
            ]
            answers = [f.result() for f in futures]
            assert [a.status_code for a in answers] == [200] * TURNS_PER_ROUND, [
                a.text for a in answers if a.status_code != 200
            ]
            for answer, (text, action, targets) in zip(answers, asked, strict=True):
                document = answer.json()
                assert document["decision"]["intent"]["action"] == action, (text, document)
                assert document["plan"]["steps"][0]["targets"] == targets, (text, document)
            [row] = await store.rows(
                select(ConversationRow).where(ConversationRow.id == conversation_id)
            )
            kept = (row.context["intent"]["action"], row.context["targets"])
            assert kept in [(action, targets) for _, action, targets in turns], row.context
            said = next(text for text, *read in turns if tuple(read) == kept)
            assert row.owner == "alice" and row.context["said"] == said, row.context
    for replica in replicas:
        assert "Traceback" not in replica.log.read_text()
