"""The web page: static HTML, CSS and ES modules shipped in the package (`static/`), served by
the API process at `/` with nothing fetched from anywhere else. The page signs in with an API
token it keeps in session storage and talks to `/api/v1` like any other client."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(str(resources.files("opsconductor.web") / "static"))

# Only this origin's own files may run or load; no inline script; no framing; the page's
# address is never sent on as a referrer.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def install_page(app: FastAPI) -> None:
    """Serve the page at `/` and its files under `/static/`, with the security headers."""

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(SecurityHeaders)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response outside `/api/`. A plain ASGI middleware, not
    `BaseHTTPMiddleware`: that one runs the endpoint in a task of its own, which changes how a
    request running a plan is cancelled at shutdown and buffers nothing of a stream it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
