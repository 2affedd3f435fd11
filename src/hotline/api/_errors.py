"""Errors of the local API client, each one line with its own exit code."""

from __future__ import annotations

from hotline.errors import ExitCode, HotlineError


class NotRunningError(HotlineError):
    """No daemon serves this station (no daemon.json, or its API does not answer)."""

    exit_code = ExitCode.NOT_RUNNING


class ApiError(HotlineError):
    """The daemon's API refused the request or answered with an error."""

    exit_code = ExitCode.API_FAILED
