"""FastAPI dependencies: the process's Conductor, the authenticated principal, and permission
checks. Route modules (and the events and metrics routers) use the typed aliases below."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from opsconductor.identity import repository as identity
from opsconductor.identity.models import Permission, Principal
from opsconductor.pipeline.orchestrator import Conductor
from opsconductor.store.audit import record_event

logger = logging.getLogger(__name__)

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token: `Authorization: Bearer <token>` (made with `opsconductor tokens`).",
)


def get_conductor(connection: HTTPConnection) -> Conductor:
    """The Conductor the application's lifespan opened (works for HTTP and WebSocket)."""
    conductor: Conductor = connection.app.state.conductor
    return conductor


ConductorDep = Annotated[Conductor, Depends(get_conductor)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def _where(connection: HTTPConnection) -> dict[str, str]:
    client = connection.client.host if connection.client else "unknown"
    return {"path": connection.url.path, "client": client}


async def audit_refusal(
    conductor: Conductor,
    *,
    actor: str,
    entity_id: str,
    action: str,
    reason: str,
    details: dict[str, str],
) -> None:
    """Append one refused access attempt to the audit trail (never any token content)."""
    async with conductor.db.session() as session:
        await record_event(
            session,
            actor=actor,
            entity_type="auth",
            entity_id=entity_id[:64],
            action=action,
            reason=reason,
            details=details,
        )


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def authenticate_token(
    conductor: Conductor, token: str | None, connection: HTTPConnection
) -> Principal | None:
    """The principal a bearer token stands for; a missing or refused token is audited and gives
    None. For faces that carry the token elsewhere (a WebSocket's query string)."""
    principal: Principal | None = None
    if token:
        async with conductor.db.session() as session:
            principal = await identity.authenticate(session, token)
    if principal is None:
        reason = "invalid, expired or revoked token" if token else "no bearer token"
        await audit_refusal(
            conductor,
            actor="anonymous",
            entity_id="token",
            action="token_refused",
            reason=reason,
            details=_where(connection),
        )
    return principal


async def current_principal(
    connection: HTTPConnection, conductor: ConductorDep, credentials: CredentialsDep
) -> Principal:
    """The caller named by the `Authorization: Bearer` token; 401 when missing or refused."""
    token = credentials.credentials if credentials else None
    principal = await authenticate_token(conductor, token, connection)
    if principal is None:
        if token:
            raise unauthorized("The token is invalid, expired or revoked.")
        raise unauthorized("Authentication required: send `Authorization: Bearer <token>`.")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the principal when their role carries `permission`, else 403."""

    async def check(
        connection: HTTPConnection, conductor: ConductorDep, principal: PrincipalDep
    ) -> Principal:
        if principal.can(permission):
            return principal
        reason = f"{principal.name} ({principal.role}) lacks the {permission} permission"
        await audit_refusal(
            conductor,
            actor=principal.name,
            entity_id=principal.name,
            action="permission_refused",
            reason=reason,
            details={**_where(connection), "permission": str(permission)},
        )
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"Not permitted: your role ({principal.role}) lacks the "
            f"'{permission}' permission.",
        )

    check.__name__ = f"require_{permission}"
    return check


Reader = Annotated[Principal, Depends(require(Permission.READ))]
Asker = Annotated[Principal, Depends(require(Permission.ASK))]
Manager = Annotated[Principal, Depends(require(Permission.MANAGE))]


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=detail)
