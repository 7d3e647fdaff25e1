"""Who may do what: roles, the permissions they carry, and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    VIEWER = "viewer"  # reads executions, approvals, assets, audit
    OPERATOR = "operator"  # asks, confirms own level-1 plans, cancels own executions
    APPROVER = "approver"  # approves level 2 and 3 plans of others
    ADMIN = "admin"  # manages users, tokens, assets and credentials


class Permission(StrEnum):
    READ = "read"
    ASK = "ask"
    CONFIRM_OWN = "confirm_own"  # level 1 only, on one's own request
    CANCEL_OWN = "cancel_own"
    APPROVE = "approve"  # any level, never one's own level 2 or 3 plan
    CANCEL_ANY = "cancel_any"
    MANAGE = "manage"  # users, tokens, assets, credentials


# Each role holds what the one before it holds, and more.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.OPERATOR: frozenset(
        {Permission.READ, Permission.ASK, Permission.CONFIRM_OWN, Permission.CANCEL_OWN}
    ),
    Role.APPROVER: frozenset(
        {
            Permission.READ,
            Permission.ASK,
            Permission.CONFIRM_OWN,
            Permission.CANCEL_OWN,
            Permission.APPROVE,
            Permission.CANCEL_ANY,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    name: str
    role: Role
    token_id: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


class UserPublic(BaseModel):
    """What anyone may see of a user."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    name: str
    role: Role
    created_at: datetime
    disabled: bool


class TokenPublic(BaseModel):
    """What anyone may see of an API token: its id and dates, never the token or its hash."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    user: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None  # to the minute at best: see repository.LAST_USED_GRANULARITY

    def status(self, now: datetime) -> str:
        """`revoked`, `expired` or `active` at `now` (a user's being disabled is not shown)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
