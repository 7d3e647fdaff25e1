"""The command line: a thin face over the service functions. Errors become messages and exit
codes here, and only here."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from opsconductor import views
from opsconductor.config import load_settings
from opsconductor.credentials.models import MAX_PRIVATE_KEY_CHARS, CredentialKind, Secret
from opsconductor.errors import OpsConductorError
from opsconductor.execution import queries
from opsconductor.inventory import repository
from opsconductor.inventory.importers import read_assets_file
from opsconductor.inventory.models import AssetFilter
from opsconductor.pipeline.orchestrator import Answer, Conductor
from opsconductor.store.audit import verify_chain

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="OpsConductor: ask, approve, run."
)
assets_app = typer.Typer(no_args_is_help=True, help="The asset inventory.")
executions_app = typer.Typer(no_args_is_help=True, help="Executions and their results.")
approvals_app = typer.Typer(no_args_is_help=True, help="Approvals waiting for a decision.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")
db_app = typer.Typer(no_args_is_help=True, help="The database schema.")
for sub, name in [
    (assets_app, "assets"),
    (executions_app, "executions"),
    (approvals_app, "approvals"),
    (audit_app, "audit"),
    (db_app, "db"),
]:
    app.add_typer(sub, name=name)

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

Format = Annotated[str, typer.Option("--format", "-f", help="text or json")]
Actor = Annotated[
    str | None, typer.Option("--as", help="Who is acting (default: $OPSCONDUCTOR_USER or login).")
]


def _actor(explicit: str | None) -> str:
    return explicit or os.environ.get("OPSCONDUCTOR_USER") or getpass.getuser()


def _run(work: Callable[[Conductor], Awaitable[T]]) -> T:
    """Open the conductor, do the work, close it; errors become a message and exit code 2."""

    async def main() -> T:
        conductor = await Conductor.open(load_settings())
        try:
            return await work(conductor)
        finally:
            await conductor.close()

    try:
        return asyncio.run(main())
    except OpsConductorError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        raise typer.Exit(2) from None


def _emit(document: Any, fmt: str, render: Callable[[], None]) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(document, default=str, indent=2) + "\n")
    else:
        render()


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="The request, in plain words.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and preview; run nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm a level-1 plan.")] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Queue background work; don't wait.")
    ] = False,
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Ask a question or request an action."""
    requester = _actor(actor)
    interactive = fmt == "text" and sys.stdin.isatty() and not yes and not dry_run

    async def work(conductor: Conductor) -> Answer:
        answer = await conductor.ask(
            text, requester=requester, dry_run=dry_run, confirm=yes, wait=not detach
        )
        level = answer.plan.approval_level if answer.plan else 0
        if interactive and answer.approval_status == "pending" and level == 1:
            views.show_answer(console, answer)
            if typer.confirm("Run it?", default=False):
                return await conductor.approve(answer.approval_ids[0], requester, wait=not detach)
        return answer

    answer = _run(work)
    _emit(answer.to_document(), fmt, lambda: views.show_answer(console, answer))
    if answer.response.type == "error":
        raise typer.Exit(1)


@assets_app.command("import")
def assets_import(
    file: Annotated[Path, typer.Argument(help="YAML or CSV file of assets.")], fmt: Format = "text"
) -> None:
    """Import assets, all or nothing; re-importing updates in place."""
    assets = _guard(lambda: read_assets_file(file))

    async def work(conductor: Conductor) -> repository.ImportSummary:
        async with conductor.db.session() as session:
            return await repository.upsert_assets(session, assets)

    summary = _run(work)
    document = {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
    }
    _emit(
        document,
        fmt,
        lambda: console.print(
            f"Imported {len(assets)} assets: {len(summary.created)} created, "
            f"{len(summary.updated)} updated, {len(summary.unchanged)} unchanged."
        ),
    )


def _guard(work: Callable[[], T]) -> T:
    try:
        return work()
    except OpsConductorError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@assets_app.command("list")
def assets_list(
    os_type: Annotated[str | None, typer.Option("--os")] = None,
    device_type: Annotated[str | None, typer.Option("--type")] = None,
    environment: Annotated[str | None, typer.Option("--env")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
    search: Annotated[str | None, typer.Option("--search")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 200,
    fmt: Format = "text",
) -> None:
    """List assets, filtered."""
    flt = _guard(lambda: _filter(os_type, device_type, environment, tag or [], search))

    async def work(conductor: Conductor) -> list[dict[str, Any]]:
        async with conductor.db.session() as session:
            found = await repository.list_assets(session, flt, limit=limit)
        return [a.model_dump(mode="json") for a in found]

    rows = _run(work)
    _emit(rows, fmt, lambda: views.show_assets(console, rows))


def _filter(
    os_type: str | None, device: str | None, env: str | None, tags: list[str], text: str | None
) -> AssetFilter:
    try:
        return AssetFilter.model_validate(
            {
                "os_type": os_type,
                "device_type": device,
                "environment": env,
                "tags": tuple(tags),
                "text": text,
            }
        )
    except ValueError as exc:
        raise OpsConductorError(
            f"bad filter: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}"
        ) from None


@assets_app.command("show")
def assets_show(name: str, fmt: Format = "text") -> None:
    """Show one asset."""

    async def work(conductor: Conductor) -> dict[str, Any]:
        async with conductor.db.session() as session:
            return (await repository.get_asset(session, name)).model_dump(mode="json")

    row = _run(work)
    _emit(row, fmt, lambda: views.show_record(console, row))


@executions_app.command("list")
def executions_list(
    state: Annotated[str | None, typer.Option("--state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    fmt: Format = "text",
) -> None:
    """Recent executions, newest first."""

    async def work(conductor: Conductor) -> list[dict[str, Any]]:
        async with conductor.db.session() as session:
            rows = await queries.list_executions(session, state=state, limit=limit)
            return [views.execution_row(r) for r in rows]

    rows = _run(work)
    _emit(rows, fmt, lambda: views.show_table(console, "Executions", rows))


@executions_app.command("show")
def executions_show(execution_id: str, fmt: Format = "text") -> None:
    """One execution, with its steps and answer."""
    result = _run(lambda c: c.executions.result(execution_id))
    _emit(result.model_dump(mode="json"), fmt, lambda: views.show_result(console, result))


@approvals_app.command("list")
def approvals_list(
    status: Annotated[str | None, typer.Option("--status")] = "pending",
    fmt: Format = "text",
) -> None:
    """Approvals, pending ones by default."""

    async def work(conductor: Conductor) -> list[dict[str, Any]]:
        async with conductor.db.session() as session:
            rows = await queries.list_approvals(session, status=status)
            return [views.approval_row(r) for r in rows]

    rows = _run(work)
    _emit(rows, fmt, lambda: views.show_table(console, "Approvals", rows))


@approvals_app.command("approve")
def approvals_approve(
    approval_id: str,
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    detach: Annotated[bool, typer.Option("--detach")] = False,
    fmt: Format = "text",
    actor: Actor = None,
) -> None:
    """Approve; the execution starts once it has every approval it needs."""
    who = _actor(actor)
    answer = _run(lambda c: c.approve(approval_id, who, comment=comment, wait=not detach))
    _emit(answer.to_document(), fmt, lambda: views.show_answer(console, answer))


@approvals_app.command("deny")
def approvals_deny(
    approval_id: str,
    comment: Annotated[str, typer.Option("--comment", help="Why (required).")],
    actor: Actor = None,
) -> None:
    """Deny; the execution is rejected and nothing runs."""
    if not comment.strip():
        errors.print("[red]error:[/red] a denial needs a comment saying why")
        raise typer.Exit(2)
    who = _actor(actor)
    execution = _run(lambda c: c.executions.deny(approval_id, who, comment))
    console.print(f"Denied; execution {execution.id} is {execution.state}.")


@audit_app.command("list")
def audit_list(
    entity: Annotated[str | None, typer.Option("--entity", help="Entity id prefix.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    fmt: Format = "text",
) -> None:
    """The newest audit events, oldest first."""

    async def work(conductor: Conductor) -> list[dict[str, Any]]:
        async with conductor.db.session() as session:
            rows = await queries.list_audit(session, entity_id=entity, limit=limit)
            return [views.audit_row(r) for r in rows]

    rows = _run(work)
    _emit(rows, fmt, lambda: views.show_table(console, "Audit", rows))


@audit_app.command("verify")
def audit_verify() -> None:
    """Re-walk the hash chain and name the first altered, inserted or removed event."""

    async def work(conductor: Conductor) -> Any:
        async with conductor.db.session() as session:
            return await verify_chain(session)

    report = _run(work)
    if report.ok:
        console.print(f"Audit trail intact: {report.checked} events verified.")
        return
    errors.print(f"Audit trail broken at event {report.first_bad_id}: {report.problem}")
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest revision."""
    _run(lambda c: asyncio.sleep(0))  # Conductor.open migrates
    console.print("Database schema is up to date.")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run what is queued, then stop.")] = False,
    poll_s: Annotated[float, typer.Option(min=0.1)] = 1.0,
) -> None:
    """Run queued background executions."""
    from opsconductor.queue.inprocess import Worker

    _run(
        lambda c: Worker(c.executions, name=f"worker:{os.getpid()}").serve(once=once, poll_s=poll_s)
    )


@app.command()
def demo() -> None:
    """Seed the demo inventory and ask a few questions end to end."""
    from opsconductor.demo.run import run_demo

    _run(lambda c: run_demo(c, console))


@app.command("eval")
def evaluate(
    corpus: Path,
    inventory: Path,
    output: Annotated[Path, typer.Option("--output")] = Path("docs/eval.md"),
) -> None:
    """Dry-run a request corpus against an inventory and write per-group results."""
    from opsconductor.evaluation import main_eval

    main_eval(corpus, inventory, output)
    console.print(f"Wrote {output}")


credentials_app = typer.Typer(
    no_args_is_help=True, help="Logins for assets, encrypted at rest; secrets are never shown."
)
app.add_typer(credentials_app, name="credentials")


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

    who = _actor(actor)
    secret = _guard(lambda: _read_secret(username, password_stdin, key_file, passphrase_stdin))

    async def work(conductor: Conductor) -> bool:
        vault = Vault.from_settings(conductor.settings)
        async with conductor.db.session() as session:
            return await put_credential(
                session, vault, name=name, secret=secret, actor=who, description=description
            )

    verb = "Replaced the existing" if _run(work) else "Added"
    console.print(f"{verb} credential {name} ({secret.kind.value} for {username}).", markup=False)


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

    async def work(conductor: Conductor) -> list[dict[str, Any]]:
        async with conductor.db.session() as session:
            return [c.model_dump(mode="json") for c in await list_credentials(session)]

    rows = _run(work)
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
    _emit(rows, fmt, lambda: views.show_table(console, "Credentials", lines))


@credentials_app.command("remove")
def credentials_remove(name: str, actor: Actor = None) -> None:
    """Remove a credential; refused while any asset uses it."""
    from opsconductor.credentials.repository import remove_credential

    who = _actor(actor)

    async def work(conductor: Conductor) -> None:
        async with conductor.db.session() as session:
            await remove_credential(session, name, actor=who)

    _run(work)
    console.print(f"Removed credential {name}.", markup=False)


def main() -> None:
    app()
