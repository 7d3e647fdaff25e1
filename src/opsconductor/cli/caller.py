"""Who the command line acts as, and what proves it.

A name typed after `--as` (or put in `OPSCONDUCTOR_USER`) proves nothing. The CLI acts as

1. the user of the token in `OPSCONDUCTOR_TOKEN`, or in the file `OPSCONDUCTOR_TOKEN_FILE`,
   checked exactly as the API checks a bearer token (known, not revoked, not expired, its user
   enabled);
2. else the OS login (the account of the process's user id, not `$USER`, which anyone sets),
   when an enabled user has its name;
3. else, on a store with no users at all, the login alone: the one identity there is. It may do
   what an operator may (confirm its own level-1 plans, cancel its own runs), and no more;
4. else nobody proven: reading, dry runs and plans that need no approval.

`--as` may name only whom the caller is proven to be (or, unproven, their own login); anything
else is refused before anything is done."""

from __future__ import annotations

import getpass
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from opsconductor.errors import NotPermitted, OpsConductorError

# The store's modules, and the identity models (pydantic), are imported where a caller is
# proven or checked: `--help` and argument errors should not load them.
if TYPE_CHECKING:
    from opsconductor.app import OpsConductor
    from opsconductor.identity.models import Permission, Role

# Names of environment variables, not secrets.
TOKEN_ENV = "OPSCONDUCTOR_TOKEN"  # noqa: S105
TOKEN_FILE_ENV = "OPSCONDUCTOR_TOKEN_FILE"  # noqa: S105
USER_ENV = "OPSCONDUCTOR_USER"
MAX_TOKEN_FILE_BYTES = 4096
HOW_TO_PROVE = (
    f"set {TOKEN_ENV} (or {TOKEN_FILE_ENV}) to your token, or run it as an OS login that is "
    "an enabled user of the same name"
)
SECOND_PERSON = (
    "with no users set up, the login {name} may confirm only its own level-1 plans and cancel "
    "only its own runs; this needs a second person who is set up as a user: "
    "`opsconductor users add NAME --role approver`, then `opsconductor tokens create NAME`; "
    f"that person then acts with {TOKEN_ENV} set to the token. Nothing was done."
)


class NotProven(OpsConductorError):
    """The caller cannot be shown to be who the command needs; nothing was done."""


class Proof(StrEnum):
    TOKEN = "token"  # noqa: S105 - a token from the environment, checked like an API bearer token
    LOGIN = "login"  # the OS login is an enabled user of the same name
    SOLE_LOGIN = "sole_login"  # no users exist: the login is the one identity
    NONE = "none"  # users exist; no token, and the login is none of them


_HOW = {
    Proof.TOKEN: "by your token",
    Proof.LOGIN: "by your OS login",
    Proof.SOLE_LOGIN: "your OS login; no users are set up",
    Proof.NONE: "your OS login, which is not a user",
}


@dataclass(frozen=True)
class Caller:
    name: str
    proof: Proof
    user_role: Role | None = None  # the user's role, for TOKEN and LOGIN

    @property
    def proven(self) -> bool:
        return self.proof is not Proof.NONE

    @property
    def role(self) -> Role:
        """The role the service checks decisions against, never None (which it would take for
        a trusted actor): the user's; an operator's for the login alone on a store without
        users; a viewer's for an unproven caller, who decides nothing."""
        from opsconductor.identity.models import Role

        if self.user_role is not None:
            return self.user_role
        return Role.OPERATOR if self.proof is Proof.SOLE_LOGIN else Role.VIEWER

    def can(self, permission: Permission) -> bool:
        from opsconductor.identity.models import Principal

        return Principal(self.name, self.role).can(permission)

    def describe(self) -> str:
        return f"{self.name} ({_HOW[self.proof]})"


def login_name() -> str:
    """The account name of the process's effective user id; environment variables can lie."""
    try:
        import pwd
    except ImportError:  # no passwd database (Windows): the best there is
        return getpass.getuser()
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a container user without a passwd entry
        return f"uid{uid}"


def claimed_name(explicit: str | None) -> str | None:
    """The name `--as` or `OPSCONDUCTOR_USER` asks to act as, if any: a claim, not a proof."""
    return explicit or os.environ.get(USER_ENV) or None


async def prove(conductor: OpsConductor, claimed: str | None) -> Caller:
    """Who the caller is proven to be, and that `claimed` (if given) is that caller.
    NotProven for a token that is refused and for a claim nothing supports."""
    from opsconductor.identity import repository as identity

    login = login_name()
    token = _read_token()
    caller: Caller | None
    if token is not None:
        # A write transaction: authenticating may note when the token was last used.
        async with conductor.db.session() as session:
            principal = await identity.authenticate(session, token[0])
        caller = Caller(principal.name, Proof.TOKEN, principal.role) if principal else None
    else:
        caller = await _by_login(conductor, login)
    if caller is None:
        assert token is not None
        reason = f"the token in {token[1]} is invalid, expired or revoked, or its user is disabled"
        await audit_refusal(conductor, login, "token", "token_refused", reason)
        raise NotProven(reason + "; nothing was done")
    if claimed is not None and claimed != caller.name:
        reason = f"--as {claimed[:80]}: you are {caller.describe()}"
        await audit_refusal(conductor, login, caller.name, "identity_refused", reason)
        raise NotProven(
            f"{reason}, and --as may name only who you can prove to be; to act as "
            f"{claimed[:80]}, use their token ({TOKEN_ENV} or {TOKEN_FILE_ENV}). "
            "Nothing was done."
        )
    return caller


async def _by_login(conductor: OpsConductor, login: str) -> Caller:
    from opsconductor.identity import repository as identity

    async with conductor.db.reader() as session:
        user = await identity.find_user(session, login)
        users_exist = user is not None or await identity.has_users(session)
    if user is not None:
        if user.disabled:
            raise NotProven(f"user {login} (your OS login) is disabled; nothing was done")
        return Caller(login, Proof.LOGIN, user.role)
    if not users_exist:
        return Caller(login, Proof.SOLE_LOGIN)
    return Caller(login, Proof.NONE)


def _read_token() -> tuple[str, str] | None:
    """(token, where it came from), or None when neither variable is set."""
    inline = os.environ.get(TOKEN_ENV, "").strip()
    file_name = os.environ.get(TOKEN_FILE_ENV, "").strip()
    if inline and file_name:
        raise NotProven(f"set {TOKEN_ENV} or {TOKEN_FILE_ENV}, not both")
    if inline:
        return inline, TOKEN_ENV
    if not file_name:
        return None
    path = Path(file_name).expanduser()
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_TOKEN_FILE_BYTES)
    except OSError as exc:
        raise NotProven(f"cannot read {TOKEN_FILE_ENV} {path}: {exc.strerror}") from None
    return content.decode("ascii", "replace").strip(), f"{TOKEN_FILE_ENV} {path}"


async def acting_name(conductor: OpsConductor, explicit: str | None) -> str:
    """The name to record as the actor of a command that decides nothing: the proven caller's,
    else the login's; a `--as` naming anyone else is refused."""
    return (await prove(conductor, claimed_name(explicit))).name


async def require_proven(
    conductor: OpsConductor, caller: Caller, entity_id: str, doing: str
) -> None:
    """NotProven (audited) unless the store knows the caller, or the caller is the login
    alone on a store without users."""
    if caller.proven:
        return
    reason = f"{doing} needs a proven identity; {caller.name} is not a user and has no token"
    await audit_refusal(conductor, caller.name, entity_id, "decision_refused", reason)
    raise NotProven(f"{doing} needs a proven identity: {HOW_TO_PROVE}; {caller.name} is not.")


async def check_may_cancel(
    conductor: OpsConductor, caller: Caller, execution_id: str, requester: str
) -> None:
    """Refuse (audited) what the API refuses: operators cancel their own executions, approvers
    and admins anyone's; unproven, only what was asked under the same login."""
    from opsconductor.identity.models import Permission

    own = requester == caller.name
    if caller.can(Permission.CANCEL_ANY) or (own and caller.can(Permission.CANCEL_OWN)):
        return
    if own and not caller.proven:
        return
    reason = f"{caller.name} ({caller.role}) may not cancel {requester}'s execution"
    await audit_refusal(conductor, caller.name, execution_id, "cancel_refused", reason)
    if not caller.proven:
        raise NotProven(
            f"cancelling {requester}'s execution needs a proven identity: {HOW_TO_PROVE}; "
            f"{caller.name} is not."
        )
    if caller.proof is Proof.SOLE_LOGIN:
        raise NotPermitted(SECOND_PERSON.format(name=caller.name))
    if caller.can(Permission.CANCEL_OWN):
        raise NotPermitted(f"your role ({caller.role}) may cancel only your own executions")
    raise NotPermitted(f"your role ({caller.role}) may not cancel executions")


async def check_may_request(conductor: OpsConductor, caller: Caller, text: str) -> None:
    """A caller who may not ask (unproven, or a viewer) may still have answered what needs no
    approval; a plan that needs one is refused before anything is recorded."""
    from opsconductor.identity.models import Permission

    if caller.can(Permission.ASK):
        return
    preview = await conductor.pipeline.plan(text)
    level = preview.plan.approval_level if preview.plan is not None else 0
    await check_may_request_level(conductor, caller, level)


async def check_may_request_level(conductor: OpsConductor, caller: Caller, level: int) -> None:
    """Refuse (audited) a caller who may not ask for a plan of this approval level."""
    from opsconductor.identity.models import Permission

    if level == 0 or caller.can(Permission.ASK):
        return
    reason = f"{caller.name} ({caller.role}) may not request a level-{level} plan"
    await audit_refusal(conductor, caller.name, "request", "request_refused", reason)
    if not caller.proven:
        raise NotProven(
            f"this plan needs an approval (level {level}); requesting it needs a proven "
            f"identity: {HOW_TO_PROVE}; {caller.name} is not. Nothing was recorded."
        )
    raise NotPermitted(
        f"this plan needs an approval (level {level}), and your role ({caller.role}) may not "
        "request one; nothing was recorded"
    )


@asynccontextmanager
async def explained(caller: Caller) -> AsyncIterator[None]:
    """A refusal by role, said plainly for the login alone: what would make it possible."""
    try:
        yield
    except NotPermitted as refused:
        if caller.proof is not Proof.SOLE_LOGIN:
            raise
        raise NotPermitted(SECOND_PERSON.format(name=caller.name)) from refused


async def audit_refusal(
    conductor: OpsConductor, actor: str, entity_id: str, action: str, reason: str
) -> None:
    """Append one refused command-line attempt to the audit trail, as the API does for its
    refusals (never any token content)."""
    from opsconductor.store.audit import record_event

    async with conductor.db.session() as session:
        await record_event(
            session,
            actor=actor[:64],
            entity_type="auth",
            entity_id=entity_id[:64],
            action=action,
            reason=reason,
            details={"face": "cli", "login": login_name()},
        )
