"""hotline.api.Client over real HTTP: messages, typed errors, one retry with the same key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.api import (
    ApiError,
    Client,
    IdempotencyConflictError,
    OutboxView,
    PeerUnknownError,
    RequestInvalidError,
    SendRequest,
    SendResult,
    StoreUnavailableError,
    make_app,
)
from hotline.errors import ExitCode

from .servers import TOKEN, DeskControl, running


@pytest.fixture
def control(tmp_path: Path) -> Iterator[DeskControl]:
    with DeskControl.open(tmp_path / "hotline.db") as control:
        yield control


@pytest.fixture
def url(control: DeskControl) -> Iterator[str]:
    with running(make_app(control, token=TOKEN)) as url:
        yield url


def test_send_then_list(url: str) -> None:
    with Client(url, TOKEN) as client:
        first = client.send("moscow", "Привет", precedence="priority", idempotency_key="k1")
        again = client.send("moscow", "Привет", precedence="priority", idempotency_key="k1")
        fresh = client.send("washington", "שלום")  # a new key every call
        assert first.created and not again.created and fresh.created
        assert again.message == first.message
        outbox = client.outbox()
        assert [(m.id, m.text, m.precedence) for m in outbox] == [
            (first.message.id, "Привет", "priority"),
            (fresh.message.id, "שלום", "routine"),
        ]
        assert [m.peer for m in client.outbox("washington")] == ["washington"]
        assert client.inbox() == []
        assert client.status()["station"] == "jerusalem"


@pytest.mark.parametrize(
    ("call", "error", "exit_code"),
    [
        (lambda c: c.send("paris", "x"), PeerUnknownError, ExitCode.PEER_UNKNOWN),
        (lambda c: c.send("moscow", ""), RequestInvalidError, ExitCode.REQUEST_INVALID),
        (lambda c: c.outbox("NOT A NAME"), RequestInvalidError, ExitCode.REQUEST_INVALID),
        (lambda c: c.inbox("paris"), PeerUnknownError, ExitCode.PEER_UNKNOWN),
    ],
)
def test_refusals_come_back_as_their_own_errors(
    url: str, call: object, error: type[ApiError], exit_code: int
) -> None:
    assert callable(call)
    with Client(url, TOKEN) as client, pytest.raises(error) as caught:
        call(client)
    assert caught.value.exit_code == exit_code


def test_a_conflicting_key_is_its_own_error(url: str) -> None:
    with Client(url, TOKEN) as client:
        client.send("moscow", "one", idempotency_key="same")
        with pytest.raises(IdempotencyConflictError) as caught:
            client.send("moscow", "two", idempotency_key="same")
    assert caught.value.exit_code == ExitCode.IDEMPOTENCY_CONFLICT


def test_a_store_failure_is_its_own_error(url: str, control: DeskControl) -> None:
    control.store.submit(lambda m: m._db.execute("PRAGMA query_only = ON")).result()
    with Client(url, TOKEN) as client, pytest.raises(StoreUnavailableError, match="read-only"):
        client.send("moscow", "x")
    assert StoreUnavailableError.exit_code == ExitCode.STORE_FAILED


class SlowFirstSend(DeskControl):
    """Commits the first message, but answers only after the client gave up waiting."""

    sends = 0

    async def send(self, request: SendRequest) -> SendResult:
        type(self).sends += 1
        result = await super().send(request)
        if type(self).sends == 1:
            await asyncio.sleep(1.0)
        return result


def test_a_timed_out_send_is_retried_once_with_the_same_key(tmp_path: Path) -> None:
    with (
        SlowFirstSend.open(tmp_path / "hotline.db") as control,
        running(make_app(control, token=TOKEN)) as url,
        Client(url, TOKEN, timeout=0.3) as client,
    ):
        result = client.send("moscow", "once only", idempotency_key="k-retry")
        assert SlowFirstSend.sends == 2
        assert not result.created  # the retry found what the first request committed
        assert [m.id for m in client.outbox()] == [result.message.id]


def test_no_answer_twice_says_how_to_retry(tmp_path: Path) -> None:
    class NeverAnswers(DeskControl):
        async def send(self, request: SendRequest) -> SendResult:
            await asyncio.sleep(2.0)
            raise AssertionError("unreachable")

    with (
        NeverAnswers.open(tmp_path / "hotline.db") as control,
        running(make_app(control, token=TOKEN)) as url,
        Client(url, TOKEN, timeout=0.2) as client,
        pytest.raises(ApiError, match="retry with --idempotency-key k-lost") as caught,
    ):
        client.send("moscow", "lost?", idempotency_key="k-lost")
    assert caught.value.exit_code == ExitCode.API_FAILED


def test_proxy_variables_are_ignored(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The token must reach 127.0.0.1 and nothing else, whatever the environment says.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Client(url, TOKEN) as client:
        assert client.outbox() == []


def test_answers_are_checked_field_by_field() -> None:
    good = {
        "id": "0" * 32,
        "peer": "moscow",
        "seq": None,
        "precedence": "flash",
        "state": "queued",
        "text": "שלום",
        "queued_at": "2026-01-01T00:00:00.000Z",
    }
    assert OutboxView.from_json(good | {"added_later": 1}) == OutboxView(**good)
    assert OutboxView.from_json(good | {"seq": 3}).seq == 3
    for broken in (good | {"seq": True}, good | {"text": None}, {"id": "x"}, [good]):
        with pytest.raises(ApiError, match="malformed"):
            OutboxView.from_json(broken)
