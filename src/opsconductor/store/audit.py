"""The append-only audit trail: HMAC-chained per stream, written once per transaction at commit.

*Streams.* Each event belongs to the stream of what it is about: an execution and its steps
share the stream `execution:<id>`; anything else is `<entity type>:<entity id>` (an approval, an
asset, a user, refusals from one address). Inside a stream, events are numbered (`seq` 1, 2, …)
and each carries the HMAC of the one before it, so that editing, removing, inserting or
reordering an event of a stream breaks its chain. Two transactions about different executions
therefore never wait for each other's predecessor; two about the same one take turns. The
store-wide head that links the streams is not a row each append must update (every append would
wait for the one before it again): it is the anchor (`audit_verify`), an HMAC over the hashes of
all rows, in id order, up to an id that no append in flight can still fall under.

*Appending.* `record_event` only notes the event in the session. Just before the transaction
commits, `store.at_commit` writes the transaction's other rows, then `append_events` takes the
chain's locks, reads the head of each stream it touches and inserts all its events in one
statement; commit
follows at once, so the locks are held for that moment only, never across a run. On PostgreSQL
an append holds the store-wide lock *shared* and each of its streams' locks exclusively (an
anchor, see `audit_verify`, takes the store-wide lock exclusively to see a settled trail); on
SQLite a write transaction holds the database's one write lock from its start anyway.

*The key.* Hashes are HMAC-SHA256 under a key kept outside the database (`OPSCONDUCTOR_AUDIT_KEY`
or the 0600 file `audit.key` in the home, found as the credential key is, `opsconductor.keyfile`):
whoever can write the database but not read the key cannot recompute a hash after an edit. Each
row names the key's id (an HMAC of a fixed label, which shows nothing of the key), so a wrong
key is told apart from an altered row.

*Legacy rows.* Rows written before revision 0009 have no stream: they are checked as the plain
SHA-256 chain they were written as, and `seal_legacy` appends, before any keyed row, an event
that records how many there were and the hash of the last, so the prefix cannot grow or shrink
afterwards without it showing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from opsconductor import keyfile
from opsconductor.config import Settings
from opsconductor.errors import ConfigurationError
from opsconductor.store.tables import AuditEventRow, table_of, utcnow

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
KEY_INFO = "opsconductor.audit_key"  # Session.info: the AuditKey a Database's sessions chain with
_PENDING = "opsconductor.audit_pending"
# PostgreSQL advisory locks are keyed by numbers the application picks: one 64-bit key for the
# store (the form with one key and the form with two never collide) and a pair per stream.
STORE_LOCK = 7_340_231
_STREAM_LOCKS = 7_340_232
SEAL_STREAM = "audit:legacy"
SEAL_ACTION = "sealed_legacy"
_KEY_ID_BYTES = 8


class AuditKey:
    """The HMAC key of the chain; its repr and `key_id` show only the key's id."""

    def __init__(self, key: bytes) -> None:
        if len(key) != keyfile.KEY_BYTES:
            raise ConfigurationError(f"an audit key is {keyfile.KEY_BYTES} bytes, not {len(key)}")
        self._key = key
        self.made_in: Path | None = None  # the key file, when it was made just now
        label = hmac.new(key, b"opsconductor audit key id", hashlib.sha256).digest()
        self.key_id = label[:_KEY_ID_BYTES].hex()

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditKey:
        """The configured key: `audit_key` if set, else the key file, made on first use (then
        `made` is true: see `warn_if_new_key_for_old_trail`)."""
        path = settings.audit_key_file
        key, made = keyfile.load_key(settings.audit_key, "OPSCONDUCTOR_AUDIT_KEY", path)
        audit_key = cls(key)
        audit_key.made_in = path if made else None
        if made:
            # A new store's key: expected, and the README says to back it up. A new key for
            # a trail chained under another is not: see warn_if_new_key_for_old_trail.
            logger.info("made a new audit key in %s", path)
        return audit_key

    def mac(self, material: bytes) -> str:
        return hmac.new(self._key, material, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"AuditKey(key_id={self.key_id})"


@dataclass
class _Pending:
    """An event noted by `record_event`, written when its transaction commits."""

    stream: str
    values: dict[str, Any] = field(default_factory=dict)


def stream_of(entity_type: str, entity_id: str) -> str:
    """The stream an event joins: its execution's for steps, else its entity's own."""
    if entity_type == "step":
        return f"execution:{entity_id.partition(':')[0]}"
    return f"{entity_type}:{entity_id}"


async def record_event(
    session: AsyncSession,
    *,
    actor: str,
    entity_type: str,
    entity_id: str,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Note one event in the caller's transaction; it is chained and written when (and only
    if) that transaction commits."""
    if KEY_INFO not in session.info:
        raise ConfigurationError("this session has no audit key: open it from a Database")
    values = {
        "at": utcnow(),
        "actor": actor,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "details": details or {},
    }
    session.info.setdefault(_PENDING, []).append(
        _Pending(stream_of(entity_type, entity_id), values)
    )


def keyed_material(row: dict[str, Any]) -> bytes:
    """What a keyed row's HMAC covers: its content, its stream and place, its link, its key."""
    return _canonical(
        {
            "stream": row["stream"],
            "seq": row["seq"],
            "prev": row["prev_hash"],
            "key": row["key_id"],
            **_content(row),
        }
    )


def legacy_hash(row: dict[str, Any]) -> str:
    """The plain SHA-256 a row written before revision 0009 carries."""
    return hashlib.sha256(_canonical({"prev": row["prev_hash"], **_content(row)})).digest().hex()


def _content(row: dict[str, Any]) -> dict[str, Any]:
    at: datetime = row["at"]
    return {
        "at": at.isoformat(),
        "actor": row["actor"],
        "entity": [row["entity_type"], row["entity_id"]],
        "action": row["action"],
        "states": [row["from_state"], row["to_state"]],
        "reason": row["reason"],
        "details": row["details"],
    }


def _canonical(material: dict[str, Any]) -> bytes:
    return json.dumps(material, sort_keys=True, separators=(",", ":"), default=str).encode()


def take_noted(session: Session | AsyncSession) -> list[_Pending]:
    """The events noted in this transaction so far, which are then no longer noted: written by
    `store.at_commit` as the transaction commits, or forgotten on rollback."""
    return session.info.pop(_PENDING, None) or []


def append_events(session: Session, key: AuditKey, pending: list[_Pending]) -> None:
    """Chain `pending` onto the heads of their streams and insert them in one statement."""
    streams = sorted({p.stream for p in pending})
    lock_streams(session, streams)
    heads = _heads(session, streams)
    rows = []
    for item in pending:
        seq, previous = heads.get(item.stream, (0, GENESIS))
        row = {**item.values, "stream": item.stream, "seq": seq + 1, "prev_hash": previous}
        row["key_id"] = key.key_id
        row["hash"] = key.mac(keyed_material(row))
        heads[item.stream] = (seq + 1, row["hash"])
        rows.append(row)
    # The table's Core insert: one executemany for all rows (the ORM's bulk form leaves out
    # None values and splits the rows by the columns that remain).
    session.execute(insert(table_of(AuditEventRow)), rows)


def lock_streams(session: Session, streams: list[str]) -> None:
    """Wait until no other transaction is appending to `streams` (PostgreSQL; on SQLite the
    write transaction already excludes every other writer). Held until commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # One round trip, in a fixed order: the store's lock first (CASE evaluates its condition
    # before its branch, and the branch's sub-select runs only when it is reached), then the
    # streams' in sorted order, so that two transactions sharing streams cannot deadlock.
    session.execute(
        text(
            "SELECT CASE WHEN pg_advisory_xact_lock_shared(:store) IS NOT NULL THEN ("
            "SELECT count(pg_advisory_xact_lock(:space, hashtext(s))) "
            "FROM unnest(CAST(:streams AS text[])) WITH ORDINALITY AS t(s, n)) END"
        ),
        {"store": STORE_LOCK, "space": _STREAM_LOCKS, "streams": streams},
    )


def _heads(session: Session, streams: list[str]) -> dict[str, tuple[int, str]]:
    newest = (
        select(AuditEventRow.stream, func.max(AuditEventRow.seq).label("seq"))
        .where(AuditEventRow.stream.in_(streams))
        .group_by(AuditEventRow.stream)
        .subquery()
    )
    found = session.execute(
        select(AuditEventRow.stream, AuditEventRow.seq, AuditEventRow.hash).join(
            newest,
            (AuditEventRow.stream == newest.c.stream) & (AuditEventRow.seq == newest.c.seq),
        )
    )
    return {stream: (seq, hash_) for stream, seq, hash_ in found if stream and seq}


_LEGACY = select(AuditEventRow.id).where(AuditEventRow.stream.is_(None)).limit(1)
_SEALED = select(AuditEventRow.id).where(AuditEventRow.stream == SEAL_STREAM).limit(1)


async def has_unsealed_legacy(session: AsyncSession) -> bool:
    """Whether rows from before the keyed chain wait for their seal (two index probes)."""
    return await session.scalar(_LEGACY) is not None and await session.scalar(_SEALED) is None


async def seal_legacy(session: AsyncSession) -> bool:
    """Once, before any keyed row: append the event that records the legacy prefix (how many
    rows, the hash of the last). True when this call wrote it."""
    await session.run_sync(lambda sync: lock_streams(sync, [SEAL_STREAM]))
    if not await has_unsealed_legacy(session):  # another process sealed it first
        return False
    count = await session.scalar(
        select(func.count()).select_from(AuditEventRow).where(AuditEventRow.stream.is_(None))
    )
    head = await session.scalar(
        select(AuditEventRow.hash)
        .where(AuditEventRow.stream.is_(None))
        .order_by(AuditEventRow.id.desc())
        .limit(1)
    )
    await record_event(
        session,
        actor="opsconductor",
        entity_type="audit",
        entity_id="legacy",
        action=SEAL_ACTION,
        reason="the rows before the keyed chain, sealed by it",
        details={"legacy_events": count, "legacy_head": head},
    )
    return True


async def warn_if_new_key_for_old_trail(session: AsyncSession, key: AuditKey) -> None:
    """When the key file was made just now but the trail was chained under another key (a
    machine set up without the shared key, a lost key file), say so before anything is written
    under the new one."""
    if key.made_in is None:
        return
    newest = await session.scalar(
        select(AuditEventRow.key_id)
        .where(AuditEventRow.key_id.is_not(None))
        .order_by(AuditEventRow.id.desc())
        .limit(1)
    )
    if newest is not None and newest != key.key_id:
        logger.warning(
            "made a new audit key in %s, but this audit trail was chained under key %s: new "
            "events will not verify together with it; stop, and restore that key (the file, or "
            "OPSCONDUCTOR_AUDIT_KEY) from where it is kept",
            key.made_in,
            newest,
        )
