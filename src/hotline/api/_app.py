"""The local API: a small Starlette app over the daemon's :class:`Control`.

Served by uvicorn inside the daemon's event loop, on 127.0.0.1 only. Two guards run before
any route, as a pure ASGI middleware:

1. **Host**: only ``127.0.0.1:PORT`` or ``localhost:PORT`` (PORT being the port the request
   arrived on) are accepted. A web page the operator visits can make the browser send requests
   to 127.0.0.1 through a DNS name it controls (DNS rebinding); such a request carries that name
   in its Host header and is refused here with 403.
2. **Bearer token**: ``Authorization: Bearer <api.token>``, compared in constant time
   (``hmac.compare_digest``); anything else gets 401. Only the operator's account can read the
   token file.

Routes are versioned (``/v1/...``) and answer JSON. Later issues add theirs to :func:`make_app`.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._views import Control

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Guard:
    """Refuses requests with a foreign Host header (403) or without the token (401)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._token = token.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        server = scope.get("server") or ("", 0)
        allowed = {f"127.0.0.1:{server[1]}", f"localhost:{server[1]}"}
        if headers.get("host") not in allowed:
            await _error(403, "this API answers requests to 127.0.0.1 only")(scope, receive, send)
            return
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode("utf-8", "replace"), self._token
        ):
            await _error(401, "missing or wrong API token")(scope, receive, send)
            return
        await self._app(scope, receive, send)


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def make_app(control: Control, *, token: str) -> Starlette:
    """Build the API over ``control``.

    Args:
        control: the daemon's control surface.
        token: the bearer token clients must present (from ``api.token``).

    Returns:
        the ASGI application.
    """

    async def status(request: Request) -> Response:
        return JSONResponse(control.status().to_json())

    return Starlette(
        routes=[Route("/v1/status", status, methods=["GET"])],
        middleware=[Middleware(_Guard, token=token)],
    )
