"""Checking the audit trail, and anchoring its head for safe keeping elsewhere.

`verify_chain` re-walks every row in id order: legacy rows (before revision 0009) as their plain
SHA-256 chain, then keyed rows stream by stream (key id, HMAC, place in the stream, link to the
one before), and the seal that binds the two. What it cannot see from inside the database is the
newest rows of a stream removed together (or a whole stream): nothing in the database can prove
that rows existed once a database administrator removes them. An anchor can.

*Anchors.* `make_anchor` waits until no append is in flight (the store-wide lock, exclusively, on
PostgreSQL; SQLite's write lock), notes the newest id, and then folds the hashes of every row up
to it, in id order, into one digest; the anchor is that id, the number of rows, and an HMAC of
the three (`oca1-<id>-<rows>-<hmac>`). Rows up to that id can no longer change: every later
append takes an id above it. `verify_chain(…, anchor=)` folds again and so detects rows removed
after the anchor was taken (a truncated end), and any history before it rewritten, inserted or
reordered, even by someone who also rewrote the chain in the database."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import ValidationFailed
from opsconductor.store.audit import (
    GENESIS,
    KEY_INFO,
    SEAL_ACTION,
    SEAL_STREAM,
    STORE_LOCK,
    AuditKey,
    keyed_material,
    legacy_hash,
    record_event,
)
from opsconductor.store.database import Database
from opsconductor.store.tables import AuditEventRow

_ANCHOR = re.compile(r"oca1-(\d{1,18})-(\d{1,18})-([0-9a-f]{32})")


@dataclass(frozen=True)
class Anchor:
    """The trail's head at one moment: its newest id, how many rows up to it, and their MAC."""

    last_id: int
    count: int
    mac: str

    @classmethod
    def parse(cls, token: str) -> Anchor:
        found = _ANCHOR.fullmatch(token.strip())
        if found is None:
            raise ValidationFailed(
                "not an audit anchor: expected oca1-<id>-<rows>-<32 hex digits>, as printed by "
                "`opsconductor audit anchor`"
            )
        return cls(int(found[1]), int(found[2]), found[3])

    def __str__(self) -> str:
        return f"oca1-{self.last_id}-{self.count}-{self.mac}"


def anchor_mac(key: AuditKey, last_id: int, count: int, digest: str) -> str:
    return key.mac(f"opsconductor audit anchor|{last_id}|{count}|{digest}".encode())[:32]


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    legacy: int = 0  # of `checked`, the rows from before the keyed chain
    anchor: Anchor | None = None  # of the rows walked, when asked for (see `make_anchor`)


@dataclass
class _Walk:
    """The state of one pass over the rows; `check` names what is wrong with the next one."""

    key: AuditKey
    up_to: int | None
    legacy: int = 0
    legacy_head: str = GENESIS
    keyed: bool = False
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    folded: int = 0
    last_folded: int = 0
    digest: bytes = b""

    def check(self, row: dict[str, Any]) -> str | None:
        problem = self._legacy(row) if row["stream"] is None else self._keyed(row)
        if problem is None and (self.up_to is None or row["id"] <= self.up_to):
            self.digest = hashlib.sha256(self.digest + row["hash"].encode()).digest()
            self.folded += 1
            self.last_folded = row["id"]
        return problem

    def _legacy(self, row: dict[str, Any]) -> str | None:
        if self.keyed:
            return "an unkeyed event after the keyed chain began: inserted"
        if row["prev_hash"] != self.legacy_head:
            return "link broken: an event before it was removed or inserted"
        if legacy_hash(row) != row["hash"]:
            return "content altered"
        self.legacy, self.legacy_head = self.legacy + 1, row["hash"]
        return None

    def _keyed(self, row: dict[str, Any]) -> str | None:
        if row["key_id"] != self.key.key_id:
            return (
                f"chained under audit key {row['key_id']}, not under this one "
                f"({self.key.key_id}): set OPSCONDUCTOR_AUDIT_KEY or restore the audit.key file "
                "this trail was written with"
            )
        if self.key.mac(keyed_material(row)) != row["hash"]:
            return "content altered (its HMAC does not match)"
        seq, previous = self.heads.get(row["stream"], (0, GENESIS))
        if row["seq"] <= seq:
            return f"out of order: event {row['seq']} of {row['stream']} after event {seq}"
        if row["seq"] != seq + 1 or row["prev_hash"] != previous:
            return f"link broken: an event of {row['stream']} before it was removed or inserted"
        problem = self._seal(row) if not self.keyed else None
        if problem is None and row["stream"] == SEAL_STREAM and self.keyed:
            problem = "a second seal of the legacy events: inserted"
        self.keyed = True
        self.heads[row["stream"]] = (row["seq"], row["hash"])
        return problem

    def _seal(self, row: dict[str, Any]) -> str | None:
        """The first keyed row must seal exactly the legacy rows before it, if there are any."""
        is_seal = row["stream"] == SEAL_STREAM and row["action"] == SEAL_ACTION
        if not is_seal:
            return "the legacy events before it are not sealed" if self.legacy else None
        sealed = row["details"]
        if sealed.get("legacy_events") != self.legacy or sealed.get("legacy_head") != (
            self.legacy_head
        ):
            return (
                f"the seal names {sealed.get('legacy_events')} legacy events, "
                f"{self.legacy} are there: legacy events were removed, inserted or altered"
            )
        return None


async def verify_chain(
    session: AsyncSession, *, anchor: Anchor | None = None, up_to: int | None = None
) -> ChainReport:
    """Re-walk the trail and name the first event whose content or link does not hold; with
    `anchor`, also whether the rows it covers are all there, unchanged. With `up_to`, the report
    carries the anchor of the rows up to that id."""
    key: AuditKey = session.info[KEY_INFO]
    walk = _Walk(key, anchor.last_id if anchor is not None else up_to)
    checked = 0
    rows = await session.stream(select(AuditEventRow.__table__).order_by(AuditEventRow.id))
    async for found in rows.mappings():
        problem = walk.check(dict(found))
        if problem is not None:
            return ChainReport(False, checked, found["id"], problem, walk.legacy)
        checked += 1
    if anchor is not None:
        problem = _against(anchor, walk)
        if problem is not None:
            return ChainReport(False, checked, None, problem, walk.legacy)
    made = None
    if up_to is not None:
        made = Anchor(up_to, walk.folded, anchor_mac(key, up_to, walk.folded, walk.digest.hex()))
    return ChainReport(True, checked, legacy=walk.legacy, anchor=made)


def _against(anchor: Anchor, walk: _Walk) -> str | None:
    if walk.folded < anchor.count:
        return (
            f"truncated: the anchor covers {anchor.count} events up to event {anchor.last_id}, "
            f"only {walk.folded} of them are left"
        )
    mac = anchor_mac(walk.key, anchor.last_id, walk.folded, walk.digest.hex())
    if mac != anchor.mac:
        return (
            f"the {walk.folded} events up to event {anchor.last_id} are not those anchored: "
            "history before the anchor was rewritten, inserted or reordered (or the anchor was "
            "made under another audit key)"
        )
    return None


async def settled_head(session: AsyncSession, actor: str) -> int:
    """The newest id once no append is in flight, recorded as anchored by `actor`; call in a
    write transaction. Every row up to that id has committed, and every later one is above it."""
    if session.get_bind().dialect.name == "postgresql":
        # Appends hold this lock shared until they commit: taking it exclusively waits them out.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORE_LOCK})
    last_id = await session.scalar(select(func.max(AuditEventRow.id))) or 0
    await record_event(
        session,
        actor=actor,
        entity_type="audit",
        entity_id="anchor",
        action="anchored",
        details={"last_id": last_id},
    )
    return last_id


async def make_anchor(db: Database, actor: str) -> ChainReport:
    """Settle the head (recorded as anchored by `actor`), then verify the trail; the report's
    `anchor` is the head's token when the trail holds."""
    async with db.session() as session:
        last_id = await settled_head(session, actor)
    async with db.reader() as session:
        return await verify_chain(session, up_to=last_id)
