"""One-use stream tickets: how a browser, which cannot set headers on a WebSocket or an
EventSource, opens one event stream without putting its API token in a URL.

A ticket reads `ost_<secret>` (32 random bytes, URL-safe base64). It is made for an
authenticated caller, lives TICKET_TTL, opens ONE stream (of the execution it names, or of the
first one it is used for) and is spent by that use. The store keeps only its SHA-256; spending
it is a compare-and-set on `used_at`, so two uses at once, on any API replicas sharing the
database, give exactly one success. Its user is read again when it is used: a ticket of a user
disabled since, or made with a token revoked since, opens nothing; the role is the one the
user holds then.

Like `repository`, every function works in the caller's session and the caller commits."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.identity.models import Principal, Role
from opsconductor.identity.tokens import hash_secret
from opsconductor.store.tables import ApiTokenRow, StreamTicketRow, UserRow, utcnow

TICKET_PREFIX = "ost_"
TICKET_TTL = timedelta(seconds=30)
# Spent and expired tickets are deleted when a new one is made this long after their expiry.
PURGE_AFTER = timedelta(minutes=10)
_SECRET_BYTES = 32
_TICKET = re.compile(TICKET_PREFIX + r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, repr=False)
class IssuedTicket:
    """A ticket just made; `ticket` goes to its owner, and only its hash to the store."""

    ticket: str
    expires_at: datetime
    execution_id: str | None

    def __repr__(self) -> str:
        return f"IssuedTicket(ticket=***, expires_at={self.expires_at.isoformat()})"

    __str__ = __repr__


def is_ticket(value: object) -> bool:
    """Whether `value` is shaped like a ticket (checked before any query)."""
    return isinstance(value, str) and _TICKET.fullmatch(value) is not None


async def issue_ticket(
    session: AsyncSession, principal: Principal, execution_id: str | None = None
) -> IssuedTicket:
    """A new ticket for `principal`, for the stream of `execution_id` (None: any one). The
    caller checks that the execution exists."""
    now = utcnow()
    await session.execute(
        delete(StreamTicketRow).where(StreamTicketRow.expires_at < now - PURGE_AFTER)
    )
    ticket = TICKET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    expires_at = now + TICKET_TTL
    session.add(
        StreamTicketRow(
            ticket_sha256=hash_secret(ticket),
            user=principal.name,
            token_id=principal.token_id,
            execution_id=execution_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return IssuedTicket(ticket, expires_at, execution_id)


async def redeem_ticket(session: AsyncSession, ticket: str, execution_id: str) -> Principal | None:
    """Spend `ticket` on the stream of `execution_id`: the principal it stands for, or None
    when it is malformed, unknown, expired, spent, made for another execution, or its user is
    disabled or its token revoked or expired. Never raises on bad input.

    Commit at once: the ticket is spent for everyone when the session commits."""
    if not is_ticket(ticket):
        return None
    digest = hash_secret(ticket)
    now = utcnow()
    spent = await session.execute(
        update(StreamTicketRow)
        .where(
            StreamTicketRow.ticket_sha256 == digest,
            StreamTicketRow.used_at.is_(None),
            StreamTicketRow.expires_at > now,
            or_(
                StreamTicketRow.execution_id.is_(None),
                StreamTicketRow.execution_id == execution_id,
            ),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not isinstance(spent, CursorResult) or spent.rowcount != 1:
        return None
    found = (
        await session.execute(
            select(UserRow, ApiTokenRow)
            .select_from(StreamTicketRow)
            .join(UserRow, StreamTicketRow.user == UserRow.name)
            .outerjoin(ApiTokenRow, StreamTicketRow.token_id == ApiTokenRow.id)
            .where(StreamTicketRow.ticket_sha256 == digest)
        )
    ).one()
    user, token = found[0], found[1]
    if user.disabled or (token is not None and not _token_live(token, now)):
        return None
    return Principal(user.name, Role(user.role), token_id=token.id if token else None)


def _token_live(token: ApiTokenRow, now: datetime) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)
