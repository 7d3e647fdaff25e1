"""The audit chain on both databases: HMAC per stream under a key outside the database, appended
at commit, anchored; tampering by someone who can write the database but not read the key."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import stat
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy import text

from opsconductor.config import Settings, load_settings
from opsconductor.errors import ConfigurationError
from opsconductor.store import migrate
from opsconductor.store.at_commit import write_now
from opsconductor.store.audit import (
    GENESIS,
    keyed_material,
    legacy_hash,
    record_event,
)
from opsconductor.store.audit_verify import Anchor, ChainReport, make_anchor, verify_chain
from opsconductor.store.database import Database, create_engine
from opsconductor.store.tables import AuditEventRow, UTCDateTime, utcnow

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


def keyed(settings: Settings, key: str = KEY) -> Settings:
    return settings.model_copy(update={"audit_key": SecretStr(key)})


async def append(db: Database, entity_id: str, count: int, entity_type: str = "test") -> None:
    """`count` events about one entity, in one transaction."""
    async with db.session() as session:
        for n in range(count):
            await record_event(
                session,
                actor="alice",
                entity_type=entity_type,
                entity_id=entity_id,
                action=f"did-{n}",
                details={"n": n},
            )


async def verify(db: Database, anchor: Anchor | None = None) -> ChainReport:
    async with db.reader() as session:
        return await verify_chain(session, anchor=anchor)


async def rows(db: Database) -> list[dict[str, Any]]:
    async with db.engine.connect() as connection:
        table = AuditEventRow.__table__
        found = await connection.execute(sa.select(table).order_by(table.c.id))
        return [dict(r) for r in found.mappings()]


async def tamper(db: Database, sql: str, **params: Any) -> None:
    """Write as a database administrator would: straight SQL, past the application."""
    async with db.engine.begin() as connection:
        await connection.execute(text(sql), params)


async def anchor_of(db: Database) -> Anchor:
    report = await make_anchor(db, "tester")
    assert report.ok and report.anchor is not None, report
    return report.anchor


@pytest.fixture
async def db(settings: Settings) -> Any:
    opened = await Database.connect(keyed(settings))
    try:
        yield opened
    finally:
        await opened.close()


async def test_events_chain_per_stream_and_verify(db: Database) -> None:
    await append(db, "exec-1", 3, "execution")
    await append(db, "exec-1:step-a", 2, "step")  # a step joins its execution's stream
    await append(db, "web-01", 2, "asset")
    stored = await rows(db)
    assert [(r["stream"], r["seq"]) for r in stored] == [
        *[("execution:exec-1", n) for n in (1, 2, 3, 4, 5)],
        ("asset:web-01", 1),
        ("asset:web-01", 2),
    ]
    assert stored[5]["prev_hash"] == GENESIS and stored[6]["prev_hash"] == stored[5]["hash"]
    report = await verify(db)
    assert report.ok and report.checked == 7 and report.legacy == 0


async def test_an_edit_with_recomputed_sha256_hashes_is_detected(db: Database) -> None:
    await append(db, "exec-1", 4, "execution")
    stored = await rows(db)
    # The administrator rewrites the second event and recomputes the stream's hashes and links
    # the way anyone can without the key: plain SHA-256 of the same material.
    previous = stored[0]["hash"]
    for row in stored[1:]:
        row["prev_hash"] = previous
        if row is stored[1]:
            row["actor"] = "mallory"
        row["hash"] = hashlib.sha256(keyed_material(row)).hexdigest()
        await tamper(
            db,
            "UPDATE audit_events SET actor = :a, prev_hash = :p, hash = :h WHERE id = :id",
            a=row["actor"],
            p=row["prev_hash"],
            h=row["hash"],
            id=row["id"],
        )
        previous = row["hash"]
    report = await verify(db)
    assert not report.ok and report.first_bad_id == stored[1]["id"]
    assert report.problem == "content altered (its HMAC does not match)"


async def test_a_removed_event_inside_a_stream_is_detected(db: Database) -> None:
    await append(db, "exec-1", 4, "execution")
    stored = await rows(db)
    await tamper(db, "DELETE FROM audit_events WHERE id = :id", id=stored[1]["id"])
    report = await verify(db)
    assert not report.ok and report.first_bad_id == stored[2]["id"]
    assert report.problem is not None and report.problem.startswith("link broken")


async def test_reordered_and_inserted_events_are_detected(db: Database) -> None:
    await append(db, "exec-1", 3, "execution")
    stored = await rows(db)
    # Reorder: swap the places (seq) of the first two events of the stream.
    await tamper(db, "UPDATE audit_events SET seq = -1 WHERE id = :id", id=stored[0]["id"])
    await tamper(db, "UPDATE audit_events SET seq = 1 WHERE id = :id", id=stored[1]["id"])
    await tamper(db, "UPDATE audit_events SET seq = 2 WHERE id = :id", id=stored[0]["id"])
    report = await verify(db)
    assert not report.ok and report.first_bad_id == stored[0]["id"]
    assert report.problem is not None and "content altered" in report.problem

    await tamper(db, "UPDATE audit_events SET seq = -1 WHERE id = :id", id=stored[1]["id"])
    await tamper(db, "UPDATE audit_events SET seq = 1 WHERE id = :id", id=stored[0]["id"])
    await tamper(db, "UPDATE audit_events SET seq = 2 WHERE id = :id", id=stored[1]["id"])
    assert (await verify(db)).ok  # put back, it holds again: the check is of the data
    # Insert: a copy of an event of another stream, with a fresh id at the end.
    copy = {k: v for k, v in stored[1].items() if k != "id"}
    copy["seq"] = 4
    copy["prev_hash"] = stored[2]["hash"]
    async with db.engine.begin() as connection:
        await connection.execute(sa.insert(AuditEventRow.__table__), [copy])
    report = await verify(db)
    assert not report.ok and report.problem == "content altered (its HMAC does not match)"


async def test_truncation_shows_only_against_an_anchor(db: Database) -> None:
    await append(db, "exec-1", 3, "execution")
    await append(db, "exec-2", 2, "execution")
    anchor = await anchor_of(db)
    assert (await verify(db, anchor)).ok
    stored = await rows(db)
    anchored = [r for r in stored if r["id"] <= anchor.last_id]
    assert anchor.count == len(anchored) == 5
    # Remove the newest events: the end of one stream, and a whole other stream.
    await tamper(db, "DELETE FROM audit_events WHERE stream = 'execution:exec-2'")
    await tamper(db, "DELETE FROM audit_events WHERE id = :id", id=anchored[2]["id"])
    without = await verify(db)
    assert without.ok  # admitted: nothing inside the database can prove they were there
    report = await verify(db, anchor)
    assert not report.ok and report.first_bad_id is None
    assert report.problem == (
        f"truncated: the anchor covers 5 events up to event {anchor.last_id}, only 2 of them "
        "are left"
    )


async def test_a_rewritten_history_before_an_anchor_is_detected(db: Database) -> None:
    await append(db, "exec-1", 2, "execution")
    await append(db, "exec-2", 2, "execution")
    anchor = await anchor_of(db)
    await append(db, "exec-3", 1, "execution")  # later rows do not disturb the anchor
    assert (await verify(db, anchor)).ok
    # Swap the ids of two streams' rows: every stream still chains, the order does not.
    stored = await rows(db)
    await tamper(db, "UPDATE audit_events SET id = -1 WHERE id = :id", id=stored[1]["id"])
    await tamper(
        db,
        "UPDATE audit_events SET id = :new WHERE id = :id",
        new=stored[1]["id"],
        id=stored[2]["id"],
    )
    await tamper(db, "UPDATE audit_events SET id = :new WHERE id = -1", new=stored[2]["id"])
    assert (await verify(db)).ok
    report = await verify(db, anchor)
    assert not report.ok and report.problem is not None
    assert "are not those anchored" in report.problem


async def test_a_trail_rewritten_as_unkeyed_rows_fails_only_its_anchor(db: Database) -> None:
    """The admitted limit of legacy rows: an administrator may pass the whole trail off as
    pre-key rows with SHA-256 links; an anchor taken before detects it."""
    await append(db, "exec-1", 3, "execution")
    anchor = await anchor_of(db)
    previous = GENESIS
    for row in await rows(db):
        row["prev_hash"] = previous
        row["hash"] = legacy_hash(row)
        await tamper(
            db,
            "UPDATE audit_events SET stream = NULL, seq = NULL, key_id = NULL, prev_hash = :p, "
            "hash = :h WHERE id = :id",
            p=row["prev_hash"],
            h=row["hash"],
            id=row["id"],
        )
        previous = row["hash"]
    passed_off = await verify(db)
    assert passed_off.ok and passed_off.legacy == 4
    assert not (await verify(db, anchor)).ok


async def test_a_wrong_key_is_named_as_such(settings: Settings) -> None:
    first = await Database.connect(keyed(settings))
    try:
        await append(first, "exec-1", 2, "execution")
        anchor = await anchor_of(first)
    finally:
        await first.close()
    other = await Database.connect(keyed(settings, OTHER_KEY))
    try:
        report = await verify(other)
        anchored = await verify(other, anchor)
    finally:
        await other.close()
    assert not report.ok and report.first_bad_id is not None and report.problem is not None
    assert report.problem.startswith(f"chained under audit key {first.audit_key.key_id}")
    assert f"not under this one ({other.audit_key.key_id})" in report.problem
    assert "OPSCONDUCTOR_AUDIT_KEY" in report.problem and KEY not in report.problem
    assert not anchored.ok


async def test_a_rolled_back_transaction_writes_no_event(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await record_event(session, actor="a", entity_type="x", entity_id="1", action="b")
            raise RuntimeError("the change failed")
    await append(db, "1", 1, "x")
    assert [(r["stream"], r["seq"]) for r in await rows(db)] == [("x:1", 1)]


async def test_raced_appends_and_anchors_keep_one_valid_chain(db: Database) -> None:
    """Many transactions at once, each writing to two shared streams and to one of its own,
    while anchors are taken: every stream numbered without a gap, every anchor still holding."""

    async def writer(n: int) -> None:
        for _ in range(3):
            async with db.session() as session:
                # Two shared streams, named in either order: the locks must not deadlock.
                shared = ("shared", "other") if n % 2 else ("other", "shared")
                for entity in (*shared, f"own-{n}"):
                    await record_event(
                        session,
                        actor=f"w{n}",
                        entity_type="execution",
                        entity_id=entity,
                        action="did",
                    )

    anchors = await asyncio.gather(
        *(writer(n) for n in range(16)), *(anchor_of(db) for _ in range(4))
    )
    report = await verify(db)
    assert report.ok and report.checked == 16 * 3 * 3 + 4  # and four "anchored" events
    stored = await rows(db)
    for stream in ("execution:shared", "execution:other"):
        assert sorted(r["seq"] for r in stored if r["stream"] == stream) == list(range(1, 49))
    for anchor in anchors[16:]:
        assert isinstance(anchor, Anchor)
        held = await verify(db, anchor)
        assert held.ok, held


async def test_an_anchor_waits_for_appends_in_flight(pg_database_url: str, tmp_path: Any) -> None:
    """PostgreSQL: an append that took its id but has not committed yet, while a later one has,
    is waited for by the anchor, so rows up to the anchored id never change afterwards. (On
    SQLite a write transaction excludes every other writer: the later append cannot happen.)"""
    db = await Database.connect(keyed(load_settings(home=tmp_path, database_url=pg_database_url)))
    held, release = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> None:
        async with db.session() as session:
            await record_event(session, actor="a", entity_type="x", entity_id="slow", action="b")
            await write_now(session)
            held.set()
            await release.wait()

    try:
        writer = asyncio.create_task(slow_writer())
        await held.wait()
        await append(db, "fast", 1, "x")  # a higher id, committed first
        anchoring = asyncio.create_task(make_anchor(db, "tester"))
        while not anchoring.done() and not await _waits_for_a_lock(db):
            await asyncio.sleep(0.01)
        release.set()
        await writer
        report = await anchoring
        assert report.ok and report.anchor is not None and report.anchor.count == 2
        assert (await verify(db, report.anchor)).ok
    finally:
        await db.close()


async def _waits_for_a_lock(db: Database) -> bool:
    async with db.engine.connect() as connection:
        waiting = await connection.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
    return bool(waiting)


async def test_the_key_file_is_made_private_once_and_refused_when_readable(
    settings: Settings,
) -> None:
    assert settings.audit_key is None and not settings.audit_key_file.exists()
    first = await Database.connect(settings)
    await first.close()
    assert stat.S_IMODE(settings.audit_key_file.stat().st_mode) == 0o600
    again = await Database.connect(settings)
    await again.close()
    assert again.audit_key.key_id == first.audit_key.key_id
    assert settings.audit_key_file.read_text().strip() not in repr(first.audit_key)
    os.chmod(settings.audit_key_file, 0o640)
    with pytest.raises(ConfigurationError, match="read by group or others"):
        await Database.connect(settings)


async def test_a_new_key_file_for_an_old_trail_is_warned_about(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = await Database.connect(settings)  # a fresh store: its new key is no news
    await append(first, "exec-1", 1, "execution")
    await first.close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    settings.audit_key_file.unlink()  # the key file lost, or a machine set up without it
    again = await Database.connect(settings)
    await again.close()
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert f"this audit trail was chained under key {first.audit_key.key_id}" in (
        warning.getMessage()
    )
    assert settings.audit_key_file.read_text().strip() not in warning.getMessage()


async def test_a_key_from_the_setting_makes_no_file(settings: Settings) -> None:
    opened = await Database.connect(keyed(settings))
    await opened.close()
    assert not settings.audit_key_file.exists()


# The audit table as revision 0008 left it.
AUDIT_0008 = sa.table(
    "audit_events",
    *[
        sa.column(name, type_)
        for name, type_ in (
            ("at", UTCDateTime()),
            ("actor", sa.String()),
            ("entity_type", sa.String()),
            ("entity_id", sa.String()),
            ("action", sa.String()),
            ("from_state", sa.String()),
            ("to_state", sa.String()),
            ("reason", sa.Text()),
            ("details", sa.JSON()),
            ("prev_hash", sa.String()),
            ("hash", sa.String()),
        )
    ],
)


async def legacy_store(settings: Settings, count: int) -> None:
    """A store at revision 0008 holding `count` events chained the old way."""
    engine = create_engine(settings.effective_database_url, home=settings.home)
    try:
        await migrate.upgrade(engine, "0008")
        previous = GENESIS
        async with engine.begin() as connection:
            for n in range(count):
                row = {
                    "at": utcnow(),
                    "actor": "old",
                    "entity_type": "execution",
                    "entity_id": f"old-{n}",
                    "action": "created",
                    "from_state": None,
                    "to_state": "queued",
                    "reason": None,
                    "details": {"n": n},
                    "prev_hash": previous,
                }
                row["hash"] = previous = legacy_hash(row)
                await connection.execute(sa.insert(AUDIT_0008), [row])
    finally:
        await engine.dispose()


async def test_legacy_rows_are_upgraded_checked_and_sealed(settings: Settings) -> None:
    await legacy_store(settings, 3)
    db = await Database.connect(keyed(settings))
    try:
        await append(db, "new", 2, "execution")
        report = await verify(db)
        assert report.ok and report.checked == 6 and report.legacy == 3
        stored = await rows(db)
        seal = stored[3]
        assert (seal["stream"], seal["action"]) == ("audit:legacy", "sealed_legacy")
        assert seal["details"] == {"legacy_events": 3, "legacy_head": stored[2]["hash"]}
        reopened = await Database.connect(keyed(settings))  # sealed once, not on every open
        await reopened.close()
        assert len(await rows(db)) == 6

        await tamper(
            db, "UPDATE audit_events SET actor = 'mallory' WHERE id = :id", id=stored[1]["id"]
        )
        edited = await verify(db)
        assert not edited.ok and edited.first_bad_id == stored[1]["id"]
        assert edited.problem == "content altered"
    finally:
        await db.close()


async def test_legacy_rows_cannot_be_removed_added_or_unsealed(settings: Settings) -> None:
    await legacy_store(settings, 3)
    db = await Database.connect(keyed(settings))
    try:
        stored = await rows(db)
        await tamper(db, "DELETE FROM audit_events WHERE id = :id", id=stored[2]["id"])
        removed = await verify(db)
        assert not removed.ok and removed.first_bad_id == stored[3]["id"]
        assert removed.problem is not None and "the seal names 3 legacy events, 2 are there" in (
            removed.problem
        )
        await tamper(db, "DELETE FROM audit_events WHERE stream = 'audit:legacy'")
        await append(db, "new", 1, "execution")
        unsealed = await verify(db)
        assert not unsealed.ok and unsealed.problem == "the legacy events before it are not sealed"
    finally:
        await db.close()
