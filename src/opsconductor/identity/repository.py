"""Users and API tokens in the store: created, listed, revoked (each audited), and checked.

Every function works in the caller's session and transaction; the caller commits. A token's
plaintext exists only in `create_token`'s (and `ensure_admin`'s) return value: the store keeps
the SHA-256 of its secret, and no audit event, log line or error message holds either."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import Insert, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import NotFound
from opsconductor.identity.errors import IdentityError
from opsconductor.identity.models import Principal, Role, TokenPublic, UserPublic
from opsconductor.identity.tokens import (
    hash_secret,
    is_token_id,
    new_token,
    parse_token,
    secret_matches,
)
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ApiTokenRow, UserRow, utcnow

__all__ = [
    "LAST_USED_GRANULARITY",
    "IdentityError",
    "authenticate",
    "create_token",
    "create_user",
    "ensure_admin",
    "find_user",
    "get_user",
    "has_users",
    "list_tokens",
    "list_users",
    "revoke_token",
    "set_user_disabled",
]

logger = logging.getLogger(__name__)

USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
# Names the audit trail uses for actors that are not users.
RESERVED_NAMES = frozenset({"anonymous", "system"})
MAX_LABEL_CHARS = 128
FIRST_ADMIN = "admin"
# `last_used_at` is written when a token is used and its stored value is older than this: at
# most one write per token a minute, so that authenticating is not a write on every request.
LAST_USED_GRANULARITY = timedelta(minutes=1)
# Compared against when the id is unknown, so that a miss costs what a wrong secret costs.
_NO_SUCH_HASH = hash_secret("no such token")


async def authenticate(session: AsyncSession, token: str) -> Principal | None:
    """The principal `token` stands for; None when it is malformed, unknown, wrong, revoked or
    expired, or its user is disabled. Never raises on bad input.

    May set the token's `last_used_at` (at most once a minute), so commit the session: an
    authentication of its own, in a short session, keeps that write from holding a lock."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    token_id, secret = parsed
    found = (
        await session.execute(
            select(ApiTokenRow, UserRow)
            .join(UserRow, ApiTokenRow.user == UserRow.name)
            .where(ApiTokenRow.id == token_id)
        )
    ).first()
    stored = found[0].secret_sha256 if found is not None else _NO_SUCH_HASH
    if not secret_matches(secret, stored) or found is None:
        logger.info("token %s refused: %s", token_id, "wrong secret" if found else "unknown id")
        return None
    row, user = found[0], found[1]
    now = utcnow()
    refusal = _refusal(row, user, now)
    if refusal is not None:
        logger.info("token %s of %s refused: %s", token_id, user.name, refusal)
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        row.last_used_at = now
    return Principal(user.name, Role(user.role), token_id=row.id)


def _refusal(row: ApiTokenRow, user: UserRow, now: datetime) -> str | None:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if user.disabled:
        return "user disabled"
    return None


async def create_user(session: AsyncSession, name: str, role: Role, *, actor: str) -> UserPublic:
    """Add a user; IdentityError for a malformed, reserved or taken name."""
    _check_name(name)
    try:
        role = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise IdentityError(f"role {str(role)[:40]!r} is not one of {roles}") from None
    if await _user_row(session, name) is not None:
        raise IdentityError(f"user {name!r} exists already")
    row = UserRow(name=name, role=role.value, disabled=False, created_at=utcnow())
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise IdentityError(f"user {name!r} was added meanwhile") from None
    await record_event(
        session,
        actor=actor,
        entity_type="user",
        entity_id=name,
        action="created",
        details={"role": role.value},
    )
    return UserPublic.model_validate(row)


async def list_users(session: AsyncSession) -> list[UserPublic]:
    rows = await session.scalars(select(UserRow).order_by(UserRow.name))
    return [UserPublic.model_validate(row) for row in rows]


async def get_user(session: AsyncSession, name: str) -> UserPublic:
    """The user `name`; NotFound when there is none."""
    return UserPublic.model_validate(await _require_user(session, name))


async def find_user(session: AsyncSession, name: str) -> UserPublic | None:
    """The user `name`, or None when there is none (a malformed name is never a user)."""
    row = await _user_row(session, name)
    return UserPublic.model_validate(row) if row is not None else None


async def has_users(session: AsyncSession) -> bool:
    """Whether any user exists, disabled ones included."""
    return await session.scalar(select(UserRow.id).limit(1)) is not None


async def set_user_disabled(
    session: AsyncSession, name: str, disabled: bool, *, actor: str
) -> UserPublic:
    """Disable a user (their tokens stop working at once, and stay so) or enable them again."""
    row = await _require_user(session, name)
    if row.disabled != disabled:
        row.disabled = disabled
        await record_event(
            session,
            actor=actor,
            entity_type="user",
            entity_id=name,
            action="disabled" if disabled else "enabled",
        )
    return UserPublic.model_validate(row)


async def create_token(
    session: AsyncSession,
    user: str,
    *,
    actor: str,
    label: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[TokenPublic, str]:
    """A new token for `user`: its public description and its plaintext, which is not kept and
    cannot be shown again. NotFound for an unknown user; IdentityError for a disabled one, a bad
    label, or an expiry that is naive or past."""
    owner = await _require_user(session, user)
    if owner.disabled:
        raise IdentityError(f"user {user!r} is disabled")
    _check_label(label)
    if expires_at is not None and expires_at.tzinfo is None:
        raise IdentityError("a token's expiry needs a time zone")
    if expires_at is not None and expires_at <= utcnow():
        raise IdentityError("a token's expiry must lie in the future")
    issued = new_token()
    row = ApiTokenRow(
        id=issued.id,
        user=owner.name,
        label=label,
        secret_sha256=issued.secret_sha256,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    await record_event(
        session,
        actor=actor,
        entity_type="token",
        entity_id=issued.id,
        action="created",
        details={
            "user": owner.name,
            "label": label,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return TokenPublic.model_validate(row), issued.plaintext


async def revoke_token(session: AsyncSession, token_id: str, *, actor: str) -> TokenPublic:
    """Revoke a token at once; revoking a revoked one changes nothing. NotFound if unknown."""
    row = await session.get(ApiTokenRow, token_id) if is_token_id(token_id) else None
    if row is None:
        raise NotFound(f"no token with id {token_id[:80]!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await record_event(
            session,
            actor=actor,
            entity_type="token",
            entity_id=row.id,
            action="revoked",
            details={"user": row.user, "label": row.label},
        )
    return TokenPublic.model_validate(row)


async def list_tokens(session: AsyncSession, user: str | None = None) -> list[TokenPublic]:
    """Every token (revoked and expired ones too), or those of `user` (NotFound if unknown)."""
    query = select(ApiTokenRow).order_by(ApiTokenRow.user, ApiTokenRow.created_at)
    if user is not None:
        await _require_user(session, user)
        query = query.where(ApiTokenRow.user == user)
    return [TokenPublic.model_validate(row) for row in await session.scalars(query)]


async def ensure_admin(session: AsyncSession) -> str | None:
    """On a store without users: create user `admin` (role admin) and a token for it, and return
    the token's plaintext, to be shown once. Otherwise None.

    Safe when several processes start on one empty store at once: one creates the admin, the
    others find the name taken (the insert skips it, nothing fails) and return None."""
    if await session.scalar(select(func.count()).select_from(UserRow)):
        return None
    created = await session.scalar(
        _insert_ignoring_conflict(session)
        .values(name=FIRST_ADMIN, role=Role.ADMIN.value, disabled=False, created_at=utcnow())
        .returning(UserRow.id)
    )
    if created is None:
        return None
    await record_event(
        session,
        actor="system",
        entity_type="user",
        entity_id=FIRST_ADMIN,
        action="created",
        reason="first start on an empty store",
        details={"role": Role.ADMIN.value},
    )
    _, plaintext = await create_token(session, FIRST_ADMIN, actor="system", label="first admin")
    return plaintext


def _insert_ignoring_conflict(session: AsyncSession) -> Insert:
    # INSERT … ON CONFLICT DO NOTHING: a lost race leaves the transaction usable, unlike an
    # IntegrityError (and SQLite's driver makes savepoints unreliable).
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(UserRow).on_conflict_do_nothing(index_elements=[UserRow.name])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(UserRow).on_conflict_do_nothing(index_elements=[UserRow.name])


async def _user_row(session: AsyncSession, name: str) -> UserRow | None:
    if not re.fullmatch(USER_NAME_PATTERN, name):
        return None  # never stored, so never found; and NUL and the like never reach the SQL
    return await session.scalar(select(UserRow).where(UserRow.name == name))


async def _require_user(session: AsyncSession, name: str) -> UserRow:
    row = await _user_row(session, name)
    if row is None:
        raise NotFound(f"no user named {name[:80]!r}")
    return row


def _check_name(name: str) -> None:
    if not re.fullmatch(USER_NAME_PATTERN, name):
        raise IdentityError(
            f"user name {name[:80]!r} must be 1-64 letters, digits or ._@- "
            "and start with a letter or digit"
        )
    if name.lower() in RESERVED_NAMES:
        raise IdentityError(f"user name {name!r} is reserved for the audit trail")


def _check_label(label: str | None) -> None:
    if label is None:
        return
    if not label.strip() or len(label) > MAX_LABEL_CHARS or not label.isprintable():
        raise IdentityError(f"a token label is 1-{MAX_LABEL_CHARS} printable characters")
