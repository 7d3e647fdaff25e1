"""Where OpsConductor's exceptions become HTTP responses: the only place that maps them.
Every error body is `{"detail": "<a clear message>"}`; no traceback ever leaves the process.
A database that cannot be reached (`DatabaseUnavailable`, or the driver's connection errors
as SQLAlchemy raises them) is a 503 with one warning line in the log, not a traceback."""

from __future__ import annotations

import logging
import socket
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa

from opsconductor.errors import (
    ApprovalAlreadyDecided,
    ApprovalExpired,
    AssetNotFound,
    BrainUnavailable,
    CatalogError,
    ConfigurationError,
    DatabaseUnavailable,
    ImportRejected,
    InvalidTransition,
    NotFound,
    NotPermitted,
    OpsConductorError,
    PlanChanged,
    SelfApprovalForbidden,
    ValidationFailed,
)

logger = logging.getLogger(__name__)


class ErrorPublic(BaseModel):
    """The body of every error response."""

    detail: str


# Most specific first: the first class an exception is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[OpsConductorError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (AssetNotFound, status.HTTP_404_NOT_FOUND),
    (NotPermitted, status.HTTP_403_FORBIDDEN),
    (SelfApprovalForbidden, status.HTTP_403_FORBIDDEN),
    (PlanChanged, status.HTTP_409_CONFLICT),
    (ApprovalAlreadyDecided, status.HTTP_409_CONFLICT),
    (ApprovalExpired, status.HTTP_409_CONFLICT),
    (InvalidTransition, status.HTTP_409_CONFLICT),
    (ValidationFailed, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (ImportRejected, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (CatalogError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (DatabaseUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
    (BrainUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
    (ConfigurationError, status.HTTP_500_INTERNAL_SERVER_ERROR),
)


def status_for(error: OpsConductorError) -> int:
    """The HTTP status an OpsConductor error stands for; 400 for any other of them."""
    for kind, code in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


DATABASE_UNAVAILABLE = "The database is not reachable right now; try again shortly."
# What a lost or refused database connection looks like by the time it reaches a route: the
# driver's error wrapped by SQLAlchemy, a pool that cannot hand out a connection, or the socket
# error itself when connecting fails before the driver has a connection to wrap it in.
_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    sa.OperationalError,
    sa.InterfaceError,
    sa.TimeoutError,
    sa.DisconnectionError,
    ConnectionError,
    socket.gaierror,
)


def is_database_unreachable(exc: BaseException) -> bool:
    """True for the errors that mean "the database cannot be reached", not "the query is bad"."""
    if isinstance(exc, (DatabaseUnavailable, *_CONNECTION_ERRORS)):
        return True
    return isinstance(exc, sa.DBAPIError) and exc.connection_invalidated


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The driver's own message only: SQLAlchemy's text carries the statement and its values.
    cause = exc.orig if isinstance(exc, sa.DBAPIError) else exc
    logger.warning(
        "%s %s: database unavailable: %s: %s",
        request.method,
        request.url.path,
        type(cause).__name__,
        cause,
    )
    return JSONResponse(
        {"detail": DATABASE_UNAVAILABLE}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
    )


async def _opsconductor_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpsConductorError)
    if isinstance(exc, DatabaseUnavailable):
        return _unavailable(request, exc)
    code = status_for(exc)
    if code >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc)
        detail = "The server is misconfigured; see its log."
    else:
        detail = str(exc) or type(exc).__name__
    return JSONResponse({"detail": detail}, status_code=code)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unreachable(exc):
        return _unavailable(request, exc)
    logger.exception("%s %s failed unexpectedly", request.method, request.url.path)
    return JSONResponse(
        {"detail": "Internal error; the server log has the details."},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    detail = "Invalid request: " + "; ".join(problems)
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OpsConductorError, _opsconductor_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Registered by class as well as through `Exception`: Starlette answers for `Exception` in
    # its outermost middleware and then re-raises, which puts a traceback in the server log.
    for kind in (sa.SQLAlchemyError, OSError):
        app.add_exception_handler(kind, _unexpected_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error statuses a route can answer."""
    descriptions = {
        400: "The request cannot be done as asked",
        401: "Missing, invalid, expired or revoked token",
        403: "The caller's role does not allow this",
        404: "No such resource",
        409: "The resource's state does not allow this now",
        422: "The input does not validate",
    }
    return {code: {"model": ErrorPublic, "description": descriptions[code]} for code in codes}
