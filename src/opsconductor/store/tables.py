"""The relational schema, one class per table. Migrations in `migrations/` create exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the database keeps (SQLite keeps naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class AssetRow(Base):
    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_kind", "os_type", "device_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    hostname: Mapped[str | None] = mapped_column(String(255), index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45), index=True)
    os_type: Mapped[str] = mapped_column(String(16))
    os_version: Mapped[str | None] = mapped_column(String(255))
    device_type: Mapped[str] = mapped_column(String(16))
    environment: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The server default fills the rows that were there before the column (migration 0007).
    services: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    owner: Mapped[str | None] = mapped_column(String(255))
    criticality: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    connection_protocol: Mapped[str | None] = mapped_column(String(16))
    connection_port: Mapped[int | None] = mapped_column(Integer)
    connection_username: Mapped[str | None] = mapped_column(String(255))
    # A credential's name, never a secret; no foreign key, so that an import may name a
    # credential that is added afterwards (removing one in use is refused by the repository).
    credential_name: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


class AssetFactRow(Base):
    """One fact collected from an asset (`os_name`, `memory_bytes`): a JSON value and when it
    was collected. An asset's facts are replaced together, and go with the asset."""

    __tablename__ = "asset_facts"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    collected_at: Mapped[datetime]


class InventoryRevisionRow(Base):
    """One row whose number is raised by every transaction that writes assets or their facts,
    as it commits (`store.revision`): a reader that sees a revision sees exactly the inventory
    of that revision, the key of cached indexes. `store_id` is drawn when the row is made, so
    that the same number in another database (or in this file made anew) is not taken for it."""

    __tablename__ = "inventory_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(36))
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class CredentialRow(Base):
    """A login for assets; the secret part is only ever stored sealed by the vault."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(255))
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    has_passphrase: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ExecutionRow(Base):
    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_text: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(255))
    plan_id: Mapped[str] = mapped_column(String(36))
    plan_hash: Mapped[str] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    approval_level: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    output: Mapped[str] = mapped_column(Text, default="")
    error_message: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    # Raised by every claim and takeover; the owner's writes carry it, so a worker that lost
    # its lease (it stalled, or the database was away) can no longer write (a fencing token).
    lease_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_expires_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    cancel_requested_by: Mapped[str | None] = mapped_column(String(255))


class StepRunRow(Base):
    """One step of a plan on one target (or on none, for an inventory step)."""

    __tablename__ = "execution_steps"
    __table_args__ = (Index("ix_execution_steps_execution", "execution_id", "step_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(24))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    exit_code: Mapped[int | None] = mapped_column(Integer)
    output: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    command: Mapped[str | None] = mapped_column(Text)


class ApprovalRow(Base):
    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    plan_hash: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(255))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class AuditEventRow(Base):
    """Append-only: rows are inserted, never updated; each carries the HMAC of the one before it
    in its stream (see `store.audit`). Rows from before the HMAC chain have no stream, seq or
    key id and a plain SHA-256 link to the row before them."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_stream_seq", "stream", "seq", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str | None] = mapped_column(String(100))
    seq: Mapped[int | None] = mapped_column(Integer)
    key_id: Mapped[str | None] = mapped_column(String(16))


class ExecutionEventRow(Base):
    """Progress events, kept so that a late follower can replay what it missed."""

    __tablename__ = "execution_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UserRow(Base):
    """A person or service that calls the API; removed never, disabled instead."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    """An API token: its public id and the SHA-256 of its secret part, never the token."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Named `user` in Python (as in TokenPublic); `user` is a reserved word in SQL.
    user: Mapped[str] = mapped_column("user_name", ForeignKey("users.name"), index=True)
    label: Mapped[str | None] = mapped_column(String(128))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class StreamTicketRow(Base):
    """A one-use ticket that opens one event stream: the SHA-256 of the ticket, never the
    ticket. Spent by setting `used_at` (a compare-and-set), so any replica may redeem it."""

    __tablename__ = "stream_tickets"

    ticket_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column("user_name", ForeignKey("users.name"))
    # The token it was made with: a ticket stops working when that token does.
    token_id: Mapped[str | None] = mapped_column(ForeignKey("api_tokens.id"))
    # The one execution it may follow; None: whichever execution it is first used for.
    execution_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class ConversationRow(Base):
    """What one user's conversation was last about (`brain.base.Context` as JSON); a row older
    than the conversation TTL is read as a fresh start."""

    __tablename__ = "conversations"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for the statements that skip the ORM (one
    executemany for many rows, an update by id with nothing read back)."""
    return cast(Table, model.__table__)
