"""`opsconductor credentials …`: logins for assets; secrets only ever come in on stdin."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsconductor.cli import views
from opsconductor.cli.caller import acting_name
from opsconductor.cli.common import (
    Actor,
    Format,
    emit,
    guard,
    out,
    run,
)
from opsconductor.credentials.models import MAX_PRIVATE_KEY_CHARS, CredentialKind, Secret
from opsconductor.errors import OpsConductorError

if TYPE_CHECKING:
    from opsconductor.app import OpsConductor

credentials_app = typer.Typer(no_args_is_help=True)  # its help: cli/main.py, _Root.lazy


@credentials_app.command("add")
def credentials_add(
    name: Annotated[str, typer.Argument(help="The name assets use: connection.credential.")],
    username: Annotated[str, typer.Option("--username", "-u", help="The login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="A private key file (OpenSSH or PEM).")
    ] = None,
    passphrase_stdin: Annotated[
        bool, typer.Option("--passphrase-stdin", help="Read the key's passphrase from stdin.")
    ] = False,
    description: Annotated[str | None, typer.Option("--description")] = None,
    actor: Actor = None,
) -> None:
    """Add a credential, or replace the one of that name. Secrets never go on the command line."""
    from opsconductor.credentials.repository import put_credential
    from opsconductor.credentials.vault import Vault

    secret = guard(lambda: _read_secret(username, password_stdin, key_file, passphrase_stdin))

    async def work(conductor: OpsConductor) -> bool:
        who = await acting_name(conductor, actor)
        vault = Vault.from_settings(conductor.settings)
        async with conductor.db.session() as session:
            return await put_credential(
                session, vault, name=name, secret=secret, actor=who, description=description
            )

    verb = "Replaced the existing" if run(work) else "Added"
    out.print(f"{verb} credential {name} ({secret.kind.value} for {username}).", markup=False)


def _read_secret(
    username: str, password_stdin: bool, key_file: Path | None, passphrase_stdin: bool
) -> Secret:
    if password_stdin == (key_file is not None):
        raise OpsConductorError("give exactly one of --password-stdin and --key-file")
    if key_file is None:
        if passphrase_stdin:
            raise OpsConductorError("--passphrase-stdin goes with --key-file")
        return Secret(CredentialKind.PASSWORD, username, password=_stdin_line("Password: "))
    try:
        with key_file.open(encoding="utf-8") as stream:
            private_key = stream.read(MAX_PRIVATE_KEY_CHARS + 1)
    except OSError as exc:
        raise OpsConductorError(f"cannot read key file {key_file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise OpsConductorError(f"key file {key_file} is not a text private key") from None
    passphrase = _stdin_line("Passphrase: ") if passphrase_stdin else None
    return Secret(
        CredentialKind.PRIVATE_KEY, username, private_key=private_key, passphrase=passphrase
    )


def _stdin_line(prompt: str) -> str:
    """One line from standard input (asked for without echo at a terminal), without its end."""
    line = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()
    line = line.removesuffix("\n").removesuffix("\r")
    if not line:
        raise OpsConductorError("standard input held no secret")
    return line


@credentials_app.command("list")
def credentials_list(fmt: Format = "text") -> None:
    """Credentials: kind, username and the assets using each. Never a secret."""
    from opsconductor.credentials.repository import list_credentials

    async def work(conductor: OpsConductor) -> list[dict[str, Any]]:
        async with conductor.db.reader() as session:
            return [c.model_dump(mode="json") for c in await list_credentials(session)]

    rows = run(work)
    lines = [
        {
            "name": r["name"],
            "kind": r["kind"],
            "username": r["username"],
            "passphrase": "yes" if r["has_passphrase"] else "",
            "created": r["created_at"][:10],
            "assets": f"{len(r['assets'])}: {', '.join(r['assets'][:3])}" if r["assets"] else "",
        }
        for r in rows
    ]
    emit(rows, fmt, lambda: views.show_table(out, "Credentials", lines))


@credentials_app.command("remove")
def credentials_remove(name: str, actor: Actor = None) -> None:
    """Remove a credential; refused while any asset uses it."""
    from opsconductor.credentials.repository import remove_credential

    async def work(conductor: OpsConductor) -> None:
        who = await acting_name(conductor, actor)
        async with conductor.db.session() as session:
            await remove_credential(session, name, actor=who)

    run(work)
    out.print(f"Removed credential {name}.", markup=False)
