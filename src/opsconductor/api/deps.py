"""FastAPI dependencies: the process's OpsConductor, the authenticated principal, and permission
checks. Route modules (and the events and metrics routers) use the typed aliases below."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from opsconductor.api.errors import ErrorPublic
from opsconductor.api.refusals import RefusalGuard, RefusalRecord
from opsconductor.app import OpsConductor
from opsconductor.identity import repository as identity
from opsconductor.identity import tickets
from opsconductor.identity.models import Permission, Principal
from opsconductor.store.audit import record_event

logger = logging.getLogger(__name__)

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token: `Authorization: Bearer <token>` (made with `opsconductor tokens`).",
)


def get_conductor(connection: HTTPConnection) -> OpsConductor:
    """The OpsConductor the application's lifespan opened (works for HTTP and WebSocket)."""
    conductor: OpsConductor = connection.app.state.conductor
    return conductor


ConductorDep = Annotated[OpsConductor, Depends(get_conductor)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def _where(connection: HTTPConnection) -> dict[str, str]:
    client = connection.client.host if connection.client else "unknown"
    return {"path": connection.url.path, "client": client}


def client_address(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client else None


def refusal_guard(connection: HTTPConnection) -> RefusalGuard:
    """The application's guard (`create_app` makes it; an app built otherwise gets one here)."""
    state = connection.app.state
    if not hasattr(state, "refusals"):
        state.refusals = RefusalGuard()
    guard: RefusalGuard = state.refusals
    return guard


async def audit_refusal(
    conductor: OpsConductor,
    *,
    actor: str,
    entity_id: str,
    action: str,
    reason: str,
    details: dict[str, Any],
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


async def record_refusals(conductor: OpsConductor, records: list[RefusalRecord]) -> None:
    """Append the aggregated records of refused credentials (see `api.refusals`)."""
    for record in records:
        await audit_refusal(
            conductor,
            actor="anonymous",
            entity_id="token",
            action="token_refused",
            reason=record.reason,
            details=record.details(),
        )


async def refuse_credentials(
    conductor: OpsConductor, connection: HTTPConnection, reason: str, *, presented: bool = True
) -> None:
    """Count one refusal (see `api.refusals`); the audit trail gets it now or with the next
    record of the caller's address."""
    record = refusal_guard(connection).refused(
        client_address(connection), reason, connection.url.path, presented=presented
    )
    if record is not None:
        await record_refusals(conductor, [record])


def retry_after(connection: HTTPConnection) -> int | None:
    """Seconds the caller's address must wait after too many refusals (counted when it must);
    None when it may authenticate now. Costs no query."""
    client = client_address(connection)
    wait = refusal_guard(connection).retry_after(client)
    if wait is not None and client is not None:
        refusal_guard(connection).limited(client, connection.url.path)
    return wait


# The OpenAPI entry for that answer (api.errors documents the statuses errors map to).
RATE_LIMITED_RESPONSE: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorPublic,
        "description": "Too many refused credentials from this address just now",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    }
}


def check_rate_limit(connection: HTTPConnection) -> None:
    """429 with Retry-After for an address with too many refused credentials just now."""
    wait = retry_after(connection)
    if wait is not None:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"Too many refused credentials from your address; retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def authenticate_token(
    conductor: OpsConductor, token: str | None, connection: HTTPConnection
) -> Principal | None:
    """The principal a bearer token stands for; a missing or refused token is counted (and
    audited, aggregated per address) and gives None. The caller checks the rate limit first."""
    principal: Principal | None = None
    if token:
        async with conductor.db.session() as session:
            principal = await identity.authenticate(session, token)
    if principal is None:
        reason = "invalid, expired or revoked token" if token else "no bearer token"
        await refuse_credentials(conductor, connection, reason, presented=bool(token))
    return principal


async def current_principal(
    connection: HTTPConnection, conductor: ConductorDep, credentials: CredentialsDep
) -> Principal:
    """The caller named by the `Authorization: Bearer` token; 401 when missing or refused, 429
    after too many refusals from the caller's address."""
    check_rate_limit(connection)
    token = credentials.credentials if credentials else None
    principal = await authenticate_token(conductor, token, connection)
    if principal is None:
        if token:
            raise unauthorized("The token is invalid, expired or revoked.")
        raise unauthorized("Authentication required: send `Authorization: Bearer <token>`.")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def permitted(
    connection: HTTPConnection,
    conductor: OpsConductor,
    principal: Principal,
    permission: Permission,
) -> bool:
    """Whether `principal` holds `permission`; a refusal is audited."""
    if principal.can(permission):
        return True
    await audit_refusal(
        conductor,
        actor=principal.name,
        entity_id=principal.name,
        action="permission_refused",
        reason=f"{principal.name} ({principal.role}) lacks the {permission} permission",
        details={**_where(connection), "permission": str(permission)},
    )
    return False


def not_permitted(principal: Principal, permission: Permission) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_403_FORBIDDEN,
        detail=f"Not permitted: your role ({principal.role}) lacks the '{permission}' permission.",
    )


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the principal when their role carries `permission`, else 403."""

    async def check(
        connection: HTTPConnection, conductor: ConductorDep, principal: PrincipalDep
    ) -> Principal:
        if await permitted(connection, conductor, principal, permission):
            return principal
        raise not_permitted(principal, permission)

    check.__name__ = f"require_{permission}"
    return check


TicketQuery = Annotated[
    str | None,
    Query(
        description="A one-use stream ticket from `POST /stream-tickets`, for browsers "
        "(which cannot set headers); other clients send `Authorization: Bearer`."
    ),
]
TICKET_REFUSED = "invalid, expired, spent or foreign stream ticket"
WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an `Authorization: Bearer` header, for faces without HTTPBearer."""
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


async def redeem(
    conductor: OpsConductor, connection: HTTPConnection, ticket: str
) -> Principal | None:
    """Spend a stream ticket on the execution in the path; a refusal is counted and audited."""
    execution_id = str(connection.path_params.get("execution_id", ""))
    async with conductor.db.session() as session:
        principal = await tickets.redeem_ticket(session, ticket, execution_id)
    if principal is None:
        await refuse_credentials(conductor, connection, TICKET_REFUSED)
    return principal


async def stream_reader(
    connection: HTTPConnection,
    conductor: ConductorDep,
    credentials: CredentialsDep,
    ticket: TicketQuery = None,
) -> Principal:
    """Who follows an execution's stream: a one-use `?ticket=` or the bearer header; the read
    permission is needed. 401, 403 and 429 as on any route."""
    if ticket is None:
        principal = await current_principal(connection, conductor, credentials)
    else:
        check_rate_limit(connection)
        found = await redeem(conductor, connection, ticket)
        if found is None:
            raise unauthorized(
                "The stream ticket is invalid, expired, already used or for another execution."
            )
        principal = found
    if not await permitted(connection, conductor, principal, Permission.READ):
        raise not_permitted(principal, Permission.READ)
    return principal


StreamReader = Annotated[Principal, Depends(stream_reader)]


@dataclass(frozen=True)
class SocketRefusal:
    """Why a WebSocket may not follow: the close code and reason to send."""

    code: int
    reason: str


async def socket_principal(
    connection: HTTPConnection, conductor: OpsConductor, ticket: str | None
) -> Principal | SocketRefusal:
    """`stream_reader` for a WebSocket, whose refusals are close codes: 1013 after too many
    refusals from its address, 1008 when unauthenticated or not permitted."""
    wait = retry_after(connection)
    if wait is not None:
        return SocketRefusal(WS_TRY_AGAIN_LATER, f"too many refused credentials; retry in {wait} s")
    if ticket is not None:
        principal = await redeem(conductor, connection, ticket)
    else:
        principal = await authenticate_token(conductor, bearer_token(connection), connection)
    if principal is None or not await permitted(connection, conductor, principal, Permission.READ):
        return SocketRefusal(WS_POLICY_VIOLATION, "not authenticated or not permitted")
    return principal


Reader = Annotated[Principal, Depends(require(Permission.READ))]
Asker = Annotated[Principal, Depends(require(Permission.ASK))]
Manager = Annotated[Principal, Depends(require(Permission.MANAGE))]


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=detail)
