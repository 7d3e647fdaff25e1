"""Users and API tokens in the store, on SQLite and PostgreSQL: a token is good exactly while it
is unrevoked, unexpired and its user enabled; only a hash of it is kept; every change audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from opsconductor.config import Settings
from opsconductor.errors import NotFound
from opsconductor.identity import repository as identity
from opsconductor.identity.errors import IdentityError
from opsconductor.identity.models import Permission, Principal, Role, TokenPublic
from opsconductor.identity.tokens import MAX_TOKEN_CHARS, parse_token
from opsconductor.store.database import Database
from opsconductor.store.tables import ApiTokenRow, AuditEventRow, utcnow


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.connect(settings)
    try:
        yield database
    finally:
        await database.close()


async def user_with_token(
    db: Database, name: str = "olivia", role: Role = Role.OPERATOR, **options: object
) -> tuple[TokenPublic, str]:
    async with db.session() as session:
        await identity.create_user(session, name, role, actor="root")
        return await identity.create_token(session, name, actor="root", **options)  # type: ignore[arg-type]


async def authenticate(db: Database, token: str) -> Principal | None:
    async with db.session() as session:
        return await identity.authenticate(session, token)


async def test_a_token_authenticates_as_its_user_with_their_role(db: Database) -> None:
    token, plaintext = await user_with_token(db, "olivia", Role.OPERATOR, label="laptop")
    assert plaintext.startswith(f"oct_{token.id}_") and len(plaintext) == MAX_TOKEN_CHARS
    assert (token.user, token.label, token.revoked_at, token.last_used_at) == (
        "olivia",
        "laptop",
        None,
        None,
    )

    principal = await authenticate(db, plaintext)

    assert principal == Principal("olivia", Role.OPERATOR, token_id=token.id)
    assert principal.can(Permission.CONFIRM_OWN) and not principal.can(Permission.APPROVE)
    async with db.session() as session:
        (listed,) = await identity.list_tokens(session, "olivia")
        assert (await identity.get_user(session, "olivia")).role is Role.OPERATOR
    assert listed.last_used_at is not None and listed.status(utcnow()) == "active"


async def test_the_principal_carries_the_users_role(db: Database) -> None:
    for role in Role:
        _, plaintext = await user_with_token(db, f"user-{role.value}", role)
        principal = await authenticate(db, plaintext)
        assert principal is not None and principal.role is role
        assert principal.can(Permission.MANAGE) is (role is Role.ADMIN)


async def test_last_used_is_written_at_most_once_a_minute(db: Database) -> None:
    token, plaintext = await user_with_token(db)
    await authenticate(db, plaintext)
    first = await last_used(db, token.id)
    await authenticate(db, plaintext)
    assert await last_used(db, token.id) == first
    async with db.session() as session:
        await session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.id == token.id)
            .values(last_used_at=utcnow() - timedelta(minutes=2))
        )
    await authenticate(db, plaintext)
    later = await last_used(db, token.id)
    assert first is not None and later is not None and later >= first


async def last_used(db: Database, token_id: str) -> object:
    async with db.session() as session:
        return await session.scalar(
            select(ApiTokenRow.last_used_at).where(ApiTokenRow.id == token_id)
        )


async def test_revoked_tokens_are_refused_and_revoking_again_changes_nothing(
    db: Database,
) -> None:
    token, plaintext = await user_with_token(db)
    _, other = await user_with_token(db, "oscar")
    async with db.session() as session:
        revoked = await identity.revoke_token(session, token.id, actor="root")
    async with db.session() as session:
        again = await identity.revoke_token(session, token.id, actor="someone-else")

    assert revoked.revoked_at is not None and again.revoked_at == revoked.revoked_at
    assert revoked.status(utcnow()) == "revoked"
    assert await authenticate(db, plaintext) is None
    assert await authenticate(db, other) is not None
    assert [(e.actor, e.action) for e in await events(db, token.id)] == [
        ("root", "created"),
        ("root", "revoked"),
    ]


async def test_expired_tokens_are_refused(db: Database) -> None:
    token, plaintext = await user_with_token(db, expires_at=utcnow() + timedelta(days=1))
    assert await authenticate(db, plaintext) is not None
    async with db.session() as session:
        await session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.id == token.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await authenticate(db, plaintext) is None
    async with db.session() as session:
        (listed,) = await identity.list_tokens(session)
    assert listed.status(utcnow()) == "expired"


async def test_a_disabled_users_tokens_are_refused_until_enabled(db: Database) -> None:
    _, plaintext = await user_with_token(db)
    async with db.session() as session:
        assert (await identity.set_user_disabled(session, "olivia", True, actor="root")).disabled
    assert await authenticate(db, plaintext) is None
    async with db.session() as session:
        with pytest.raises(IdentityError, match="disabled"):
            await identity.create_token(session, "olivia", actor="root")
    async with db.session() as session:
        await identity.set_user_disabled(session, "olivia", False, actor="root")
    assert await authenticate(db, plaintext) is not None
    assert [e.action for e in await events(db, "olivia")] == ["created", "disabled", "enabled"]


async def test_a_tampered_token_is_refused(db: Database) -> None:
    token, plaintext = await user_with_token(db)
    _, other = await user_with_token(db, "oscar")
    last = plaintext[-1]
    flipped = plaintext[:-1] + ("A" if last != "A" else "B")
    other_secret = f"oct_{token.id}_{other.split('_', 2)[2]}"
    unknown_id = f"oct_{'Z' * 12}_{plaintext.split('_', 2)[2]}"

    for forged in (flipped, other_secret, unknown_id):
        assert parse_token(forged) is not None  # well-formed: refused by the hash check
        assert await authenticate(db, forged) is None


GARBAGE = [
    "",
    " ",
    "oct_",
    "oct__",
    "Bearer oct_",
    "x" * 10_000,
    "oct_" + "A" * 9_996,
    "\x00" * MAX_TOKEN_CHARS,
    "oct_" + "é" * 12 + "_" + "ü" * 43,
    "oct_" + "\ud800" * 56,  # a lone surrogate: cannot even be encoded
    "oct_" + "A" * 12 + "_" + "A" * 42 + "\n",
    "oct_" + "A" * 12 + "_" + "A" * 42 + "'",
    "oct_" + "A" * 11 + "-_" + "A" * 43,
    "OCT_" + "A" * 12 + "_" + "A" * 43,
    "🔑" * 60,
]


async def test_garbage_is_refused_without_raising(db: Database) -> None:
    await user_with_token(db)
    for garbage in GARBAGE:
        assert await authenticate(db, garbage) is None, repr(garbage[:20])
    for not_text in (None, b"oct_", 42):
        assert await authenticate(db, not_text) is None  # type: ignore[arg-type]


async def test_the_store_keeps_no_token(db: Database) -> None:
    token, plaintext = await user_with_token(db, label="ci")
    secret = plaintext.split("_", 2)[2]
    async with db.session() as session:
        (stored_hash,) = (await session.execute(text("SELECT secret_sha256 FROM api_tokens"))).one()
        rows = [
            row
            for table in ("users", "api_tokens", "audit_events")
            for row in (await session.execute(text(f"SELECT * FROM {table}"))).all()
        ]
    dump = " ".join(repr(tuple(row)) for row in rows)
    assert token.id in dump and "'ci'" in dump
    assert plaintext not in dump and secret not in dump
    assert len(stored_hash) == 64 and dump.count(stored_hash) == 1  # in api_tokens only


async def test_creation_and_revocation_are_audited_without_secrets(db: Database) -> None:
    token, plaintext = await user_with_token(db, "ava", Role.APPROVER, label="ops")
    async with db.session() as session:
        await identity.revoke_token(session, token.id, actor="root")
    user_events = await events(db, "ava")
    token_events = await events(db, token.id)

    assert [(e.entity_type, e.action, e.details) for e in user_events] == [
        ("user", "created", {"role": "approver"})
    ]
    assert [(e.entity_type, e.action) for e in token_events] == [
        ("token", "created"),
        ("token", "revoked"),
    ]
    assert token_events[0].details == {"user": "ava", "label": "ops", "expires_at": None}
    for event in user_events + token_events:
        assert "oct_" not in repr(event.details) and plaintext.split("_", 2)[2] not in repr(
            event.details
        )


async def events(db: Database, entity_id: str) -> list[AuditEventRow]:
    async with db.session() as session:
        rows = await session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.entity_id == entity_id)
            .order_by(AuditEventRow.id)
        )
        return list(rows)


async def test_ensure_admin_creates_the_first_admin_once(db: Database) -> None:
    async with db.session() as session:
        plaintext = await identity.ensure_admin(session)
    async with db.session() as session:
        assert await identity.ensure_admin(session) is None
        users = await identity.list_users(session)

    assert plaintext is not None
    assert [(u.name, u.role) for u in users] == [("admin", Role.ADMIN)]
    principal = await authenticate(db, plaintext)
    assert principal is not None and principal.name == "admin" and principal.can(Permission.MANAGE)
    assert [(e.actor, e.action) for e in await events(db, "admin")] == [("system", "created")]


async def test_ensure_admin_does_nothing_when_there_are_users(db: Database) -> None:
    await user_with_token(db, "olivia")
    async with db.session() as session:
        assert await identity.ensure_admin(session) is None
        assert [u.name for u in await identity.list_users(session)] == ["olivia"]


async def test_concurrent_first_starts_make_one_admin(db: Database) -> None:
    async def start() -> str | None:
        async with db.session() as session:
            return await identity.ensure_admin(session)

    results = await asyncio.gather(*(start() for _ in range(4)))

    assert len([r for r in results if r is not None]) == 1
    async with db.session() as session:
        assert len(await identity.list_tokens(session, "admin")) == 1


BAD_NAMES = [
    "",
    " ",
    "a b",
    ".hidden",
    "-x",
    "bob\n",
    "x" * 65,
    "ünï",
    "a/b",
    "system",
    "Anonymous",
]


async def test_bad_user_names_are_refused(db: Database) -> None:
    for name in BAD_NAMES:
        async with db.session() as session:
            with pytest.raises(IdentityError, match="user name"):
                await identity.create_user(session, name, Role.VIEWER, actor="root")
    async with db.session() as session:
        assert await identity.list_users(session) == []


async def test_refusals_name_the_problem(db: Database) -> None:
    await user_with_token(db, "olivia")
    cases = [
        (IdentityError, "exists already", "create_user", ("olivia", Role.VIEWER)),
        (IdentityError, "not one of", "create_user", ("nora", "king")),
        (NotFound, "no user", "get_user", ("nobody",)),
        (NotFound, "no user", "list_tokens", ("nobody",)),
        (NotFound, "no user", "create_token", ("nobody",)),
        (NotFound, "no token", "revoke_token", ("AAAAAAAAAAAA",)),
        (NotFound, "no token", "revoke_token", ("\x00' OR 1=1",)),
    ]
    for error, message, function, args in cases:
        kwargs = {} if function in {"get_user", "list_tokens"} else {"actor": "root"}
        async with db.session() as session:
            with pytest.raises(error, match=message):
                await getattr(identity, function)(session, *args, **kwargs)


async def test_bad_token_options_are_refused(db: Database) -> None:
    await user_with_token(db)
    cases: list[tuple[dict[str, object], str]] = [
        ({"expires_at": utcnow().replace(tzinfo=None) + timedelta(days=1)}, "time zone"),
        ({"expires_at": utcnow() - timedelta(seconds=1)}, "future"),
        ({"label": ""}, "label"),
        ({"label": "x" * 129}, "label"),
        ({"label": "two\nlines"}, "label"),
    ]
    for options, message in cases:
        async with db.session() as session:
            with pytest.raises(IdentityError, match=message):
                await identity.create_token(session, "olivia", actor="root", **options)  # type: ignore[arg-type]
