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

Routes are versioned (``/v1/...``), take and answer JSON, and are described by the OpenAPI
document (:mod:`._openapi`, served at ``/v1/openapi.json``). Every error answer is
``{"error": {"code": ..., "message": ...}}`` (docs/api.md); nothing answers a traceback.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._errors import ApiError, RequestInvalidError, RequestTooLargeError, UnsupportedMediaTypeError
from ._openapi import OPENAPI
from ._requests import (
    MAX_BATCH_BODY,
    MAX_REQUEST_BODY,
    _json_object,
    check_alarm_id,
    check_message_id,
    check_peer,
    parse_ack,
    parse_alarm_ack,
    parse_alarms_query,
    parse_inbox_query,
    parse_peer_filter,
    parse_record_query,
    parse_send,
    parse_send_batch,
)
from ._views import Control, ResumedView

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The media type of a record export (docs/record-format.md §13).
RECORD_MEDIA_TYPE: Final = "application/vnd.hotline.record"
#: ``error.code`` of the answers Starlette's router makes (no such route, wrong method).
_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed"}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Return the JSON error answer (docs/api.md, "Errors")."""
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


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
        if headers.get("host", "").lower() not in allowed:
            refusal = error_response(
                403, "forbidden_host", "this API answers requests to 127.0.0.1 only"
            )
            await refusal(scope, receive, send)
            return
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode("utf-8", "replace"), self._token
        ):
            refusal = error_response(
                401,
                "unauthorized",
                "missing or wrong API token",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await refusal(scope, receive, send)
            return
        await self._app(scope, receive, send)


async def _json_body(request: Request, limit: int = MAX_REQUEST_BODY) -> bytes:
    """Return the request body, declared JSON and at most ``limit`` bytes.

    The length is checked as the body arrives, so a client cannot make the daemon buffer more
    than that by lying in (or leaving out) ``Content-Length``.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaTypeError("the request body must be application/json")
    too_large = RequestTooLargeError(f"the request body is over {limit} bytes")
    declared = request.headers.get("content-length", "0")
    if not declared.isascii() or not declared.isdigit():
        raise RequestInvalidError("Content-Length is not a number")
    if int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def _no_options(request: Request) -> None:
    """Accept no body, or an empty JSON object: the route takes no options, and refuses any.

    A body, if there is one, obeys the rules of every body (:func:`_json_body`), so a script
    that sends ``{"force": true}`` learns that no such option exists rather than being obeyed
    or ignored.
    """
    if request.headers.get("content-length", "0") == "0" and "transfer-encoding" not in (
        request.headers
    ):
        return
    unknown = sorted(_json_object(await _json_body(request)))
    if unknown:
        raise RequestInvalidError(f"unknown field {unknown[0]!r}")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, exc.detail, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # A bug: the daemon's log has the traceback; the client gets one line.
    return error_response(500, "internal", "internal error in the daemon (see its log)")


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

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def send(request: Request) -> Response:
        result = await control.send(parse_send(await _json_body(request)))
        return JSONResponse(result.message.to_json(), status_code=201 if result.created else 200)

    async def send_batch(request: Request) -> Response:
        results = await control.send_batch(
            parse_send_batch(await _json_body(request, MAX_BATCH_BODY))
        )
        body = {"messages": [r.message.to_json() | {"created": r.created} for r in results]}
        created = any(result.created for result in results)
        return JSONResponse(body, status_code=201 if created else 200)

    async def outbox(request: Request) -> Response:
        messages = await control.outbox(parse_peer_filter(request.query_params.multi_items()))
        return JSONResponse([message.to_json() for message in messages])

    async def inbox(request: Request) -> Response:
        peer, after = parse_inbox_query(request.query_params.multi_items())
        messages = await control.inbox(peer, after)
        return JSONResponse([message.to_json() for message in messages])

    async def record(request: Request) -> Response:
        peer = check_peer(request.path_params["peer"])
        query = parse_record_query(request.query_params.multi_items())
        return Response(await control.record(peer, query), media_type=RECORD_MEDIA_TYPE)

    async def ack(request: Request) -> Response:
        message_id = check_message_id(request.path_params["id"])
        result = await control.ack(message_id, parse_ack(await _json_body(request)))
        return JSONResponse(result.message.to_json(), status_code=201 if result.created else 200)

    async def acks(request: Request) -> Response:
        found = await control.acks(parse_peer_filter(request.query_params.multi_items()))
        return JSONResponse([view.to_json() for view in found])

    async def alarms(request: Request) -> Response:
        include_closed = parse_alarms_query(request.query_params.multi_items())
        return JSONResponse([view.to_json() for view in control.alarms(include_closed)])

    async def ack_alarm(request: Request) -> Response:
        alarm_id = check_alarm_id(request.path_params["id"])
        operator = parse_alarm_ack(await _json_body(request))
        return JSONResponse(control.ack_alarm(alarm_id, operator).to_json())

    async def checkpoint(request: Request) -> Response:
        peer = check_peer(request.path_params["peer"])
        await _no_options(request)
        return JSONResponse((await control.checkpoint(peer)).to_json())

    async def resume(request: Request) -> Response:
        peer = check_peer(request.path_params["peer"])
        await _no_options(request)
        return JSONResponse(ResumedView(peer, await control.resume(peer)).to_json())

    return Starlette(
        routes=[
            Route("/v1/status", status, methods=["GET"]),
            Route("/v1/messages", send, methods=["POST"]),
            Route("/v1/messages/batch", send_batch, methods=["POST"]),
            Route("/v1/outbox", outbox, methods=["GET"]),
            Route("/v1/inbox", inbox, methods=["GET"]),
            Route("/v1/inbox/{id}/ack", ack, methods=["POST"]),
            Route("/v1/acks", acks, methods=["GET"]),
            Route("/v1/alarms", alarms, methods=["GET"]),
            Route("/v1/alarms/{id}/ack", ack_alarm, methods=["POST"]),
            Route("/v1/lines/{peer}/checkpoint", checkpoint, methods=["POST"]),
            Route("/v1/lines/{peer}/record", record, methods=["GET"]),
            Route("/v1/lines/{peer}/resume", resume, methods=["POST"]),
            Route("/v1/openapi.json", openapi, methods=["GET"]),
        ],
        middleware=[Middleware(_Guard, token=token)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
