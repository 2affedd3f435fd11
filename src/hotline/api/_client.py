"""A small synchronous client of the local API, for the CLI, benchmarks and scripts.

::

    with Client.for_home(Path("./jerusalem")) as client:
        result = client.send("moscow", "Привет", precedence="flash")
        print(result.message.id, [m.text for m in client.outbox()])

It holds one HTTP connection (``httpx``, keep-alive), closed by :meth:`Client.close` or when
the client is garbage-collected (so a one-shot ``Client.for_home(home).status()`` leaves no
socket open), and ignores proxy variables: the token goes to 127.0.0.1 and nowhere else.
Each error answer is raised as the class its ``code`` names
(:data:`~hotline.api._errors.ERRORS_BY_CODE`), each with its own exit code.

**Retries.** ``send`` carries an idempotency key (a fresh one unless given); when the daemon
does not answer in time the request is sent once more with the same key, so a message the
daemon did commit before the timeout is found again, never queued twice. ``send_batch`` does
the same with a key per message, fixed before the first attempt.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from hotline.constants import CHECKPOINT_WAIT
from hotline.ids import time_ordered_id

from ._errors import ERRORS_BY_CODE, ApiError, NotRunningError
from ._files import DaemonInfo, read_token
from ._requests import check_message_id, check_peer
from ._views import (
    AckView,
    AlarmView,
    CheckpointView,
    InboxView,
    OutboxView,
    QueuedView,
    ResumedView,
    SendResult,
)

#: The daemon answers from memory or after one fsync; five seconds is a hung daemon or disk.
DEFAULT_TIMEOUT = 5.0
#: An export reads and opens the whole range: a long record takes seconds, not milliseconds.
RECORD_TIMEOUT = 300.0
#: The CLI's idempotency keys: 32 hex digits, the time then 80 random bits (:mod:`hotline.ids`).
IDEMPOTENCY_KEY_BYTES = 16


def new_idempotency_key() -> str:
    """Return a fresh idempotency key (time-ordered: the daemon's key index grows at one edge)."""
    return time_ordered_id(IDEMPOTENCY_KEY_BYTES).hex()


class Client:
    """Talks to one daemon's API with its bearer token."""

    def __init__(self, url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Args:
        url: the API's base URL (``http://127.0.0.1:PORT``).
        token: the bearer token.
        timeout: seconds to wait for an answer.
        """
        self._url = url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self._url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            trust_env=False,  # no proxy from the environment ever sees the token
        )
        self._closer = weakref.finalize(self, self._http.close)

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

    def close(self) -> None:
        """Close the connection."""
        self._closer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def status(self) -> dict[str, Any]:
        """Return ``GET /v1/status``: ``{"station": ..., "lines": [...]}``.

        Raises:
            NotRunningError: the daemon does not answer (it stopped uncleanly).
            ApiError: it refused the request or answered an error.
        """
        answer = self._request("GET", "/v1/status").json()
        if not isinstance(answer, dict) or not isinstance(answer.get("lines"), list):
            raise ApiError("the daemon's status answer is malformed")
        return answer

    def send(
        self,
        peer: str,
        text: str,
        *,
        precedence: str = "routine",
        idempotency_key: str | None = None,
    ) -> SendResult:
        """Queue a message; return once the daemon committed it to disk.

        Args:
            peer: a paired station's name.
            text: 1 to ``MAX_TEXT_LEN`` bytes of UTF-8.
            precedence: ``flash``, ``immediate``, ``priority`` or ``routine``.
            idempotency_key: names this request (a fresh key if ``None``); reuse it to retry.

        Returns:
            The queued message, and whether this call queued it (``False``: the key had).

        Raises:
            NotRunningError: no daemon answers.
            RequestInvalidError: a bad peer name, text, precedence or key.
            PeerUnknownError: no paired station has that name.
            IdempotencyConflictError: the key already queued another message.
            StoreUnavailableError: the daemon cannot write its store: nothing was queued.
            ApiError: no answer twice in a row (the message may be queued: retry with the
                same key), or another refusal.
        """
        key = new_idempotency_key() if idempotency_key is None else idempotency_key
        body = {"peer": peer, "text": text, "precedence": precedence, "idempotency_key": key}
        hint = f"it may be queued: retry with --idempotency-key {key}"
        response = self._request("POST", "/v1/messages", json=body, retry_hint=hint)
        return SendResult(QueuedView.from_json(_json(response)), response.status_code == 201)

    def send_batch(self, messages: Sequence[Mapping[str, str]]) -> list[SendResult]:
        """Queue 1 to ``MAX_BATCH_MESSAGES`` messages in one commit: all of them, or none.

        Args:
            messages: each a mapping with ``peer`` and ``text``, and optionally
                ``precedence`` (``routine`` if absent) and ``idempotency_key`` (a fresh key if
                absent), as for :meth:`send`. The JSON body must stay within
                ``MAX_BATCH_BODY`` bytes.

        Returns:
            One result per message, in order (``created`` is ``False`` for a message its key
            had already queued).

        Raises:
            RequestInvalidError: an item breaks the rules of a send (its index is named), no
                items or too many, or the body is over ``MAX_BATCH_BODY`` (``too_large``).
            NotRunningError, PeerUnknownError, IdempotencyConflictError,
            StoreUnavailableError, ApiError: as for :meth:`send`; nothing was queued.
        """
        items = [
            {
                "peer": message["peer"],
                "text": message["text"],
                "precedence": message.get("precedence", "routine"),
                "idempotency_key": message.get("idempotency_key") or new_idempotency_key(),
            }
            for message in messages
        ]
        hint = "it may be queued: send the batch again with the same idempotency keys"
        response = self._request(
            "POST", "/v1/messages/batch", json={"messages": items}, retry_hint=hint
        )
        answer = _json(response)
        queued = answer.get("messages") if isinstance(answer, dict) else None
        if not isinstance(queued, list) or len(queued) != len(items):
            raise ApiError("the daemon's answer to a batch is malformed")
        results = []
        for item in queued:
            created = item.get("created") if isinstance(item, dict) else None
            if not isinstance(created, bool):
                raise ApiError("the daemon's answer to a batch is malformed (created)")
            results.append(SendResult(QueuedView.from_json(item), created))
        return results

    def outbox(self, peer: str | None = None) -> list[OutboxView]:
        """Return the messages queued and not yet receipted, in sending order.

        Raises:
            NotRunningError, PeerUnknownError, StoreUnavailableError, ApiError: as for send.
        """
        return [OutboxView.from_json(item) for item in self._list("/v1/outbox", peer)]

    def inbox(self, peer: str | None = None, *, after: str | None = None) -> list[InboxView]:
        """Return the messages received, in delivery order (only those delivered after the
        message ``after``, if given: to follow the inbox, pass the last id seen).

        Raises:
            MessageUnknownError: no received message has the id ``after``.
            NotRunningError, PeerUnknownError, StoreUnavailableError, ApiError: as for send.
        """
        extra = {} if after is None else {"after": check_message_id(after)}
        return [InboxView.from_json(item) for item in self._list("/v1/inbox", peer, extra)]

    def resume(self, peer: str) -> int:
        """Lift the halted directions of the line to ``peer`` (docs/operations.md first).

        The name is checked here, as the daemon checks it, since it travels in the path. Not
        retried after a timeout: a second call would lift nothing and report 0.

        Returns:
            How many directions were halted and are lifted now: 0, 1 or 2.

        Raises:
            NotRunningError: no daemon answers.
            RequestInvalidError: ``peer`` cannot be a station name.
            PeerUnknownError: no paired station has that name.
            StoreUnavailableError: the daemon cannot write its store: nothing was lifted.
            ApiError: no answer, or another refusal.
        """
        response = self._request("POST", f"/v1/lines/{check_peer(peer)}/resume")
        return ResumedView.from_json(_json(response)).lifted

    def record(
        self,
        peer: str,
        *,
        start: str | None = None,
        end: str | None = None,
        redact_bodies: bool = False,
    ) -> bytes:
        """Return an export of the line's record (docs/record-format.md §13), unverified.

        Args:
            peer: the line's peer.
            start: the earliest send time exported, ISO 8601 with a zone, or a date.
            end: the latest, likewise (a date means its last millisecond).
            redact_bodies: leave the bodies out (their hashes still verify).

        Raises:
            NotRunningError: no daemon answers.
            RequestInvalidError: a bad name, time or window.
            PeerUnknownError: no paired station has that name.
            StoreUnavailableError: the daemon cannot read its store (a damaged record says
                where).
            ApiError: no answer within ``RECORD_TIMEOUT``, or another refusal.
        """
        params = {"redact_bodies": "true" if redact_bodies else "false"}
        if start is not None:
            params["from"] = start
        if end is not None:
            params["to"] = end
        path = f"/v1/lines/{check_peer(peer)}/record"
        return self._request("GET", path, params=params, timeout=RECORD_TIMEOUT).content

    def ack(self, message_id: str, operator: str, note: str = "") -> SendResult:
        """Acknowledge a received message as ``operator``: "seen and acted on", sent to its
        sender as a signed ACK in the record. Once per message: the same call again returns the
        same ACK (``created`` False); another operator or note is refused.

        Raises:
            NotRunningError: no daemon answers.
            RequestInvalidError: a bad id, operator name or note.
            MessageUnknownError: no received message has that id.
            IdempotencyConflictError: it was acknowledged already, otherwise.
            StoreUnavailableError: nothing was queued.
            ApiError: no answer twice (retrying is safe), or another refusal.
        """
        path = f"/v1/inbox/{check_message_id(message_id)}/ack"
        body = {"operator": operator, "note": note}
        response = self._request("POST", path, json=body, retry_hint="retrying is safe")
        return SendResult(QueuedView.from_json(_json(response)), response.status_code == 201)

    def acks(self, peer: str | None = None) -> list[AckView]:
        """Return the peers' acknowledgements of our messages, as they arrived.

        Raises:
            NotRunningError, PeerUnknownError, StoreUnavailableError, ApiError: as for send.
        """
        return [AckView.from_json(item) for item in self._list("/v1/acks", peer)]

    def alarms(self, *, include_closed: bool = False) -> list[AlarmView]:
        """Return the alarms, newest first: the open ones, or all the station holds.

        Raises:
            NotRunningError, ApiError: as for send.
        """
        params = {"all": "true" if include_closed else "false"}
        answer = _json(self._request("GET", "/v1/alarms", params=params))
        if not isinstance(answer, list):
            raise ApiError("the daemon's answer to /v1/alarms is malformed (not a list)")
        return [AlarmView.from_json(item) for item in answer]

    def ack_alarm(self, alarm_id: int, operator: str) -> AlarmView:
        """Acknowledge an alarm as ``operator`` (it stays listed while its condition holds).

        Raises:
            AlarmUnknownError: no alarm has that number.
            RequestInvalidError: a bad operator name.
            NotRunningError, ApiError: as for send.
        """
        response = self._request(
            "POST", f"/v1/alarms/{int(alarm_id)}/ack", json={"operator": operator}
        )
        return AlarmView.from_json(_json(response))

    def checkpoint(self, peer: str) -> CheckpointView:
        """Have the stations sign a checkpoint of the line now; return it once stored.

        Raises:
            NotRunningError, RequestInvalidError, PeerUnknownError: as for :meth:`resume`.
            LineUnavailableError: the line is not up, or the peer did not co-sign in time.
            StoreUnavailableError: the checkpoint could not be stored.
            ApiError: no answer, or another refusal.
        """
        response = self._request(
            "POST", f"/v1/lines/{check_peer(peer)}/checkpoint", timeout=CHECKPOINT_WAIT + 5
        )
        return CheckpointView.from_json(_json(response))

    def _list(self, path: str, peer: str | None, extra: dict[str, str] | None = None) -> list[Any]:
        params = ({} if peer is None else {"peer": peer}) | (extra or {})
        answer = _json(self._request("GET", path, params=params))
        if not isinstance(answer, list):
            raise ApiError(f"the daemon's answer to {path} is malformed (not a list)")
        return answer

    def _request(
        self, method: str, path: str, *, retry_hint: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send the request; one with a ``retry_hint`` (idempotent) goes again after a timeout."""
        attempts = 1 if retry_hint is None else 2
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, path, **kwargs)
                break
            except httpx.ConnectError:
                raise NotRunningError(
                    f"the station is not running (nothing answers at {self._url};"
                    " daemon.json is stale)"
                ) from None
            except httpx.TimeoutException:
                if attempt < attempts:
                    continue
                hint = f" ({retry_hint})" if retry_hint else ""
                raise ApiError(
                    f"the daemon did not answer within {kwargs.get('timeout', self._timeout):g}"
                    f" s{hint}"
                ) from None
            except httpx.HTTPError as exc:
                raise ApiError(f"the daemon's API at {self._url} failed: {exc}") from None
        if response.is_success:
            return response
        raise _refusal(response)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ApiError("the daemon's answer is not JSON") from None


def _refusal(response: httpx.Response) -> ApiError:
    """The error an error answer names (``ApiError`` for a code this client does not know)."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "", response.reason_phrase
    cls = ERRORS_BY_CODE.get(code)
    if cls is not None:
        return cls(message)
    return ApiError(f"the daemon refused: {response.status_code} {message}")
