"""Errors of the local API, each one line with its own exit code, the same on both ends.

An error the API answers has an HTTP status and a short ``code``; its body is
``{"error": {"code": ..., "message": ...}}`` (docs/api.md). The classes below that carry a
``code`` are raised by the daemon's :class:`~hotline.api.Control` (the app turns them into
that answer) and raised again by the :class:`~hotline.api.Client` from it (the CLI turns them
into one line and an exit code), so a refusal reads the same wherever it is reported.
"""

from __future__ import annotations

from typing import ClassVar

from hotline.errors import ExitCode, HotlineError


class NotRunningError(HotlineError):
    """No daemon serves this station (no daemon.json, or its API does not answer)."""

    exit_code = ExitCode.NOT_RUNNING


class ApiError(HotlineError):
    """The daemon's API refused the request or answered with an error.

    Attributes:
        status: the HTTP status it answers with.
        code: the ``error.code`` of the answer.
    """

    exit_code = ExitCode.API_FAILED
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"


class RequestInvalidError(ApiError):
    """The request is malformed: a bad peer name, an empty or too long text, a bad key."""

    exit_code = ExitCode.REQUEST_INVALID
    status = 422
    code = "invalid_request"


class MalformedRequestError(RequestInvalidError):
    """The request body is not one JSON object in UTF-8."""

    status = 400
    code = "malformed_request"


class RequestTooLargeError(RequestInvalidError):
    """The request body is longer than any valid request (``MAX_REQUEST_BODY``)."""

    status = 413
    code = "too_large"


class UnsupportedMediaTypeError(RequestInvalidError):
    """The request body is not declared ``application/json``."""

    status = 415
    code = "unsupported_media_type"


class PeerUnknownError(ApiError):
    """No paired station has that name (or it was unpaired)."""

    exit_code = ExitCode.PEER_UNKNOWN
    status = 404
    code = "peer_unknown"


class IdempotencyConflictError(ApiError):
    """The idempotency key already queued another message."""

    exit_code = ExitCode.IDEMPOTENCY_CONFLICT
    status = 409
    code = "idempotency_conflict"


class StoreUnavailableError(ApiError):
    """The daemon cannot write or read its store (full, read-only, damaged): nothing changed."""

    exit_code = ExitCode.STORE_FAILED
    status = 503
    code = "store_unavailable"


class MessageUnknownError(ApiError):
    """No received message has that id."""

    exit_code = ExitCode.MESSAGE_UNKNOWN
    status = 404
    code = "message_unknown"


class AlarmUnknownError(ApiError):
    """No alarm has that number."""

    exit_code = ExitCode.ALARM_UNKNOWN
    status = 404
    code = "alarm_unknown"


class LineUnavailableError(ApiError):
    """The request needs the peer, and the line is not up or the peer did not answer in time."""

    exit_code = ExitCode.LINE_UNAVAILABLE
    status = 409  # the daemon is fine; the line's state does not allow it now
    code = "line_unavailable"


#: ``error.code`` -> the class the client raises for it.
ERRORS_BY_CODE: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        RequestInvalidError,
        MalformedRequestError,
        RequestTooLargeError,
        UnsupportedMediaTypeError,
        PeerUnknownError,
        IdempotencyConflictError,
        StoreUnavailableError,
        LineUnavailableError,
        MessageUnknownError,
        AlarmUnknownError,
    )
}
