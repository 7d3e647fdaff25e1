"""A credential's secret, which never shows itself, and its public description, which has none."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from opsconductor.credentials.errors import CredentialError
from opsconductor.inventory.models import CREDENTIAL_NAME_PATTERN

# Logins as Linux, Windows (DOMAIN\user, user@domain) and network devices spell them.
USERNAME_PATTERN = r"^[A-Za-z0-9._@$\\-]{1,255}$"
MAX_PRIVATE_KEY_CHARS = 64 * 1024


class CredentialKind(StrEnum):
    PASSWORD = "password"  # noqa: S105 - a kind, not a password: a username and a password
    PRIVATE_KEY = "private_key"  # a username and a private key, maybe locked by a passphrase


@dataclass(frozen=True, repr=False)
class Secret:
    """A credential in the clear: held only inside a connector, for the moment of use.

    Its repr and str name the kind and the username and hide the rest, so that a log line, an
    f-string or a traceback that shows it shows no secret."""

    kind: CredentialKind
    username: str
    password: str | None = None
    private_key: str | None = None
    passphrase: str | None = None

    def __post_init__(self) -> None:
        if self.kind is CredentialKind.PASSWORD:
            if not self.password or self.private_key is not None or self.passphrase is not None:
                raise CredentialError("a password credential needs a password and nothing else")
        elif not self.private_key or self.password is not None:
            raise CredentialError("a private key credential needs a key and no password")
        elif self.passphrase == "":
            raise CredentialError("an empty passphrase: leave it out instead")

    @property
    def has_passphrase(self) -> bool:
        return self.passphrase is not None

    def __repr__(self) -> str:
        if self.kind is CredentialKind.PASSWORD:
            hidden = "password=***"
        else:
            hidden = "private_key=***" + (", passphrase=***" if self.has_passphrase else "")
        return f"Secret(kind={self.kind.value!r}, username={self.username!r}, {hidden})"

    __str__ = __repr__


def secret_values(secret: Secret) -> list[str]:
    """Every value of `secret` that output must never show: give them to `masking.mask`.

    A private key counts whole and line by line, since a command may print it rewrapped."""
    values = [v for v in (secret.password, secret.passphrase, secret.private_key) if v]
    if secret.private_key:
        values += [
            line.strip()
            for line in secret.private_key.splitlines()
            if line.strip() and not line.startswith("-----") and ":" not in line
        ]
    return values


class CredentialPublic(BaseModel):
    """What anyone may see of a credential: never its secret."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: CredentialKind
    username: str
    has_passphrase: bool
    description: str | None
    created_at: datetime
    updated_at: datetime
    assets: list[str]


def check_name(name: str) -> str:
    if not re.fullmatch(CREDENTIAL_NAME_PATTERN, name):
        raise CredentialError(
            f"credential name {name[:80]!r} must be 1-64 letters, digits, spaces or ._/()- "
            "and start with a letter or digit"
        )
    return name


def check_username(username: str) -> str:
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise CredentialError(
            f"username {username[:80]!r} must be 1-255 letters, digits or ._@$\\-"
        )
    return username


def check_private_key(private_key: str, passphrase: str | None) -> None:
    """Refuse what is not a usable private key, a wrong passphrase and a needless one."""
    if len(private_key) > MAX_PRIVATE_KEY_CHARS:
        raise CredentialError("the key file is too large to be a private key")
    unlocked = _import_problem(private_key, None)
    if unlocked is None:
        if passphrase is not None:
            raise CredentialError("the private key has no passphrase: leave the passphrase out")
        return
    if "passphrase must be specified" not in unlocked.lower():
        raise CredentialError(f"not a usable private key: {unlocked}")
    if passphrase is None:
        raise CredentialError("the private key is locked: give its passphrase")
    problem = _import_problem(private_key, passphrase)
    if problem is not None and "bcrypt" in problem:
        raise CredentialError(
            "this key is locked in the OpenSSH format, which needs the bcrypt package; install "
            "it, or convert the key with `ssh-keygen -p -m PEM`"
        )
    if problem is not None:
        raise CredentialError(f"the passphrase does not open the private key ({problem})")


def _import_problem(private_key: str, passphrase: str | None) -> str | None:
    import asyncssh  # loaded only when a key is added: it is slow to import

    try:
        asyncssh.import_private_key(private_key, passphrase)
    except (asyncssh.KeyImportError, ValueError) as exc:
        return str(exc)
    return None
