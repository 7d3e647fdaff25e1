"""Credential rows: added, listed, removed (each audited) and opened for a connector."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.credentials.errors import (
    CredentialError,
    CredentialInUse,
    CredentialNotFound,
    CredentialUnreadable,
)
from opsconductor.credentials.models import (
    CredentialKind,
    CredentialPublic,
    Secret,
    check_name,
    check_private_key,
    check_username,
)
from opsconductor.credentials.run_secrets import OpenedCredentials
from opsconductor.credentials.vault import Vault
from opsconductor.store.audit import record_event
from opsconductor.store.tables import AssetRow, CredentialRow

logger = logging.getLogger(__name__)

_NAMED_IN_ERRORS = 10
MAX_DESCRIPTION_CHARS = 4000


async def put_credential(
    session: AsyncSession,
    vault: Vault,
    *,
    name: str,
    secret: Secret,
    actor: str,
    description: str | None = None,
) -> bool:
    """Store `secret` sealed under `name`, replacing one of that name (whose description stays
    unless a new one is given); True if it replaced.

    The audit event says who, what kind and which username: never the secret."""
    check_name(name)
    check_username(secret.username)
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        raise CredentialError(f"a description is at most {MAX_DESCRIPTION_CHARS} characters")
    if secret.kind is CredentialKind.PRIVATE_KEY and secret.private_key is not None:
        check_private_key(secret.private_key, secret.passphrase)
    row = await session.scalar(select(CredentialRow).where(CredentialRow.name == name))
    values = {
        "kind": secret.kind.value,
        "username": secret.username,
        "secret_ciphertext": vault.seal(name, secret),
        "has_passphrase": secret.has_passphrase,
        "description": description if description is not None or row is None else row.description,
    }
    if row is None:
        session.add(CredentialRow(name=name, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    try:
        await session.flush()
    except IntegrityError:
        raise CredentialError(f"credential {name!r} was added meanwhile: try again") from None
    await record_event(
        session,
        actor=actor,
        entity_type="credential",
        entity_id=name,
        action="replaced" if row is not None else "added",
        details={
            "kind": secret.kind.value,
            "username": secret.username,
            "has_passphrase": secret.has_passphrase,
        },
    )
    return row is not None


async def list_credentials(session: AsyncSession) -> list[CredentialPublic]:
    """Every credential by name, with the assets that log in with it; no secret, sealed or not."""
    rows = list(await session.scalars(select(CredentialRow).order_by(CredentialRow.name)))
    users = await _assets_using(session, [row.name for row in rows])
    return [
        CredentialPublic(
            name=row.name,
            kind=CredentialKind(row.kind),
            username=row.username,
            has_passphrase=row.has_passphrase,
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
            assets=users.get(row.name, []),
        )
        for row in rows
    ]


async def remove_credential(session: AsyncSession, name: str, *, actor: str) -> None:
    """Delete a credential; refused, naming them, while assets still refer to it."""
    row = await _row(session, name)
    users = (await _assets_using(session, [name])).get(name, [])
    if users:
        named = ", ".join(users[:_NAMED_IN_ERRORS])
        more = f" and {len(users) - _NAMED_IN_ERRORS} more" if len(users) > _NAMED_IN_ERRORS else ""
        raise CredentialInUse(
            f"credential {name!r} is used by {len(users)} asset(s): {named}{more}; "
            "point them at another credential first"
        )
    await session.delete(row)
    await record_event(
        session,
        actor=actor,
        entity_type="credential",
        entity_id=name,
        action="removed",
        details={"kind": row.kind, "username": row.username},
    )


async def load_secret(session: AsyncSession, name: str, vault: Vault) -> Secret:
    """The credential `name` in the clear, for a connector at the moment it logs in.

    Keep the result no longer than the login needs, and mask its `secret_values` in output.
    Raises `CredentialNotFound`, or `CredentialUnreadable` when the key does not open it."""
    row = await _row(session, name)
    secret = vault.open(
        name, row.secret_ciphertext, kind=CredentialKind(row.kind), username=row.username
    )
    logger.debug("opened credential %s for use", name)
    return secret


async def open_credentials(session: AsyncSession, vault: Callable[[], Vault]) -> OpenedCredentials:
    """Every stored credential opened, each decrypted once: what one run logs in with and masks.

    `vault` is asked for only when there is a credential, so a store without any never needs
    the key. A credential the key does not open is kept with the reason (its secret, unknown,
    cannot be masked; a login with it fails with that reason)."""
    rows = list(await session.scalars(select(CredentialRow).order_by(CredentialRow.name)))
    if not rows:
        return OpenedCredentials()
    opener = vault()
    secrets: dict[str, Secret] = {}
    unreadable: dict[str, str] = {}
    for row in rows:
        kind = CredentialKind(row.kind)
        try:
            secrets[row.name] = opener.open(
                row.name, row.secret_ciphertext, kind=kind, username=row.username
            )
        except CredentialUnreadable as exc:
            unreadable[row.name] = str(exc)
            logger.warning("%s: its secret cannot be masked in output", exc)
    logger.debug("opened %d credential(s) for a run", len(secrets))
    return OpenedCredentials(secrets, unreadable)


async def _row(session: AsyncSession, name: str) -> CredentialRow:
    row = await session.scalar(select(CredentialRow).where(CredentialRow.name == name))
    if row is None:
        raise CredentialNotFound(f"no credential named {name!r}")
    return row


async def _assets_using(session: AsyncSession, names: Sequence[str]) -> dict[str, list[str]]:
    if not names:
        return {}
    query = (
        select(AssetRow.credential_name, AssetRow.name)
        .where(AssetRow.credential_name.in_(list(names)))
        .order_by(AssetRow.name)
    )
    users: dict[str, list[str]] = defaultdict(list)
    for credential, asset in await session.execute(query):
        users[str(credential)].append(asset)
    return dict(users)
