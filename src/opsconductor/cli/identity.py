"""`opsconductor users …` and `opsconductor tokens …`: who may call the API, and with what.

A token is printed once, when it is made; listings show its id, never the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from opsconductor.cli import views
from opsconductor.cli.caller import acting_name
from opsconductor.cli.common import Actor, Format, emit, errors, out, run
from opsconductor.identity.models import Role, TokenPublic, UserPublic

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor

users_app = typer.Typer(no_args_is_help=True)  # help: cli/main.py, _Root.lazy
tokens_app = typer.Typer(no_args_is_help=True)  # help: cli/main.py, _Root.lazy

UNSHOWN = "Store it now: it will not be shown again."


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="1-64 letters, digits or ._@-")],
    role: Annotated[Role, typer.Option("--role", "-r", help="What the user may do.")],
    actor: Actor = None,
) -> None:
    """Add a user with a role; make them a token with `opsconductor tokens create`."""
    from opsconductor.identity.repository import create_user

    async def work(conductor: OpsConductor) -> UserPublic:
        who = await acting_name(conductor, actor)
        async with conductor.db.session() as session:
            return await create_user(session, name, role, actor=who)

    user = run(work)
    out.print(f"Added user {user.name} ({user.role.value}).", markup=False)


@users_app.command("list")
def users_list(fmt: Format = "text") -> None:
    """Users, their roles, and whether they are disabled."""
    from opsconductor.identity.repository import list_users

    async def work(conductor: OpsConductor) -> list[UserPublic]:
        async with conductor.db.reader() as session:
            return await list_users(session)

    users = run(work)
    rows = [
        {
            "name": u.name,
            "role": u.role.value,
            "created": f"{u.created_at:%Y-%m-%d}",
            "disabled": "yes" if u.disabled else "",
        }
        for u in users
    ]
    emit(
        [u.model_dump(mode="json") for u in users],
        fmt,
        lambda: views.show_table(out, "Users", rows),
    )


@users_app.command("disable")
def users_disable(name: str, actor: Actor = None) -> None:
    """Disable a user: their tokens are refused until they are enabled again."""
    _set_disabled(name, True, actor)


@users_app.command("enable")
def users_enable(name: str, actor: Actor = None) -> None:
    """Enable a disabled user again (revoked tokens stay revoked)."""
    _set_disabled(name, False, actor)


def _set_disabled(name: str, disabled: bool, actor: str | None) -> None:
    from opsconductor.identity.repository import set_user_disabled

    async def work(conductor: OpsConductor) -> UserPublic:
        who = await acting_name(conductor, actor)
        async with conductor.db.session() as session:
            return await set_user_disabled(session, name, disabled, actor=who)

    user = run(work)
    out.print(f"User {user.name} is {'disabled' if user.disabled else 'enabled'}.")


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[
        str | None, typer.Option("--label", help="What the token is for (shown in listings).")
    ] = None,
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", min=1, max=3650, help="Days until it stops working."),
    ] = None,
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Make a token for a user and print it, once."""
    from opsconductor.identity.repository import create_token

    expires_at = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None

    async def work(conductor: OpsConductor) -> tuple[TokenPublic, str]:
        who = await acting_name(conductor, actor)
        async with conductor.db.session() as session:
            return await create_token(session, user, actor=who, label=label, expires_at=expires_at)

    token, plaintext = run(work)
    emit({**token.model_dump(mode="json"), "token": plaintext}, fmt, lambda: None)
    if fmt == "json":
        errors.print(UNSHOWN, markup=False, highlight=False)
    else:
        _show_created(token, plaintext)


def _show_created(token: TokenPublic, plaintext: str) -> None:
    expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "no expiry"
    out.print(f"Token {token.id} for {token.user} ({expiry}):", markup=False)
    out.print(plaintext, markup=False, highlight=False)
    out.print(UNSHOWN, markup=False)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id, as `tokens list` shows it.")],
    actor: Actor = None,
) -> None:
    """Revoke a token: it is refused from now on."""
    from opsconductor.identity.repository import revoke_token

    async def work(conductor: OpsConductor) -> TokenPublic:
        who = await acting_name(conductor, actor)
        async with conductor.db.session() as session:
            return await revoke_token(session, token_id, actor=who)

    token = run(work)
    assert token.revoked_at is not None
    out.print(
        f"Token {token.id} of {token.user} is revoked "
        f"(since {token.revoked_at:%Y-%m-%d %H:%M:%S} UTC).",
        markup=False,
    )


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's.")] = None,
    fmt: Format = "text",
) -> None:
    """Tokens by id, with their user, label, dates and status; never a token or its hash."""
    from opsconductor.identity.repository import list_tokens

    async def work(conductor: OpsConductor) -> list[TokenPublic]:
        async with conductor.db.reader() as session:
            return await list_tokens(session, user)

    tokens = run(work)
    emit([t.model_dump(mode="json") for t in tokens], fmt, lambda: _show_tokens(tokens))


def _show_tokens(tokens: list[TokenPublic]) -> None:
    if not tokens:
        out.print("Tokens: none.")
        return
    now = datetime.now(UTC)
    table = Table(title="Tokens")
    table.add_column("id", no_wrap=True)  # to be copied whole into `tokens revoke`
    for column in ("user", "label", "status", "created", "expires", "last used"):
        table.add_column(column)
    for token in tokens:
        table.add_row(
            token.id,
            token.user,
            token.label or "",
            token.status(now),
            _day(token.created_at),
            _day(token.expires_at),
            _day(token.last_used_at),
        )
    out.print(table)


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else ""
