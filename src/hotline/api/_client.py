"""A small synchronous client of the local API, for the CLI and for scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ._errors import ApiError, NotRunningError
from ._files import DaemonInfo, read_token

#: The daemon answers from memory; a second is long, five is a hung daemon.
DEFAULT_TIMEOUT = 5.0


class Client:
    """Talks to one daemon's API with its bearer token."""

    def __init__(self, url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Args:
        url: the API's base URL (``http://127.0.0.1:PORT``).
        token: the bearer token.
        timeout: seconds to wait for an answer.
        """
        self._url = url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"Client({self._url!r})"

    @classmethod
    def for_home(cls, home: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Client:
        """The client of the daemon serving the station at ``home``.

        Raises:
            NotRunningError: no daemon.json (the station is not running) or no token.
            ApiError: daemon.json or api.token is malformed.
        """
        info = DaemonInfo.read(home)
        return cls(info.api, read_token(home), timeout=timeout)

    def status(self) -> dict[str, Any]:
        """Return ``GET /v1/status``: ``{"station": ..., "lines": [...]}``.

        Raises:
            NotRunningError: the daemon does not answer (it stopped uncleanly).
            ApiError: it refused the request or answered an error.
        """
        answer = self._get("/v1/status")
        if not isinstance(answer, dict) or not isinstance(answer.get("lines"), list):
            raise ApiError("the daemon's status answer is malformed")
        return answer

    def _get(self, path: str) -> Any:
        try:
            response = httpx.get(
                self._url + path,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self._timeout,
            )
        except httpx.ConnectError:
            raise NotRunningError(
                f"the station is not running (nothing answers at {self._url}; daemon.json is stale)"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(f"the daemon's API at {self._url} failed: {exc}") from None
        if response.status_code != 200:
            try:
                message = response.json().get("error", response.reason_phrase)
            except ValueError:
                message = response.reason_phrase
            raise ApiError(f"the daemon refused: {response.status_code} {message}")
        try:
            return response.json()
        except ValueError:
            raise ApiError("the daemon's answer is not JSON") from None
