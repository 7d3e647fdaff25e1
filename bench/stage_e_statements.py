"""What stage E costs the store per recorded answer, counted rather than timed: the SQL
statements and the write and read transactions of one `ask`, on a fresh embedded store (an
inventory question, level 0; a command on a local asset, level 1 confirmed by the requester).
Counts do not move with the machine's load, so two trees compare exactly:

    .venv/bin/python bench/stage_e_statements.py                      # this tree
    PYTHONPATH=../old/src .venv/bin/python bench/stage_e_statements.py  # another"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import event

from opsconductor.app import OpsConductor
from opsconductor.config import load_settings
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset

LOCAL = {
    "name": "ops-console",
    "hostname": "localhost",
    "ip_address": "127.0.0.1",
    "os_type": "linux",
    "device_type": "server",
    "environment": "lab",
    "connection": {"protocol": "local"},
}
REQUESTS = (("How many assets do we have?", False), ("check uptime on ops-console", True))


async def count(home: Path) -> None:
    conductor = await OpsConductor.open(load_settings(home=home, database_url=None))
    try:
        async with conductor.db.session() as session:
            await repository.upsert_assets(session, [Asset.model_validate(LOCAL)])
        seen = {"statements": 0, "writes": 0, "reads": 0}

        @event.listens_for(conductor.db.engine.sync_engine, "before_cursor_execute")
        def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.startswith("BEGIN IMMEDIATE"):
                seen["writes"] += 1
            elif statement.startswith("BEGIN"):
                seen["reads"] += 1
            else:
                seen["statements"] += 1

        for text, confirm in REQUESTS:
            await conductor.pipeline.ask(text, requester="bench", confirm=confirm)  # warm
            seen.update(statements=0, writes=0, reads=0)
            answer = await conductor.pipeline.ask(text, requester="bench", confirm=confirm)
            print(
                f"{text!r} ({answer.execution_state}): {seen['statements']} statements, "
                f"{seen['writes']} write and {seen['reads']} read transactions"
            )
    finally:
        await conductor.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        asyncio.run(count(Path(home)))


if __name__ == "__main__":
    main()
