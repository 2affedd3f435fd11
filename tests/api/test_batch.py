"""POST /v1/messages/batch and Client.send_batch over the daemon's desk and a real store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotline.api import (
    MAX_BATCH_BODY,
    MAX_BATCH_MESSAGES,
    Client,
    IdempotencyConflictError,
    PeerUnknownError,
    RequestInvalidError,
    SendRequest,
    SendResult,
    make_app,
)
from hotline.station._desk import MessageDesk

from .servers import PEERS, TOKEN, DeskControl, auth, running

BASE = "http://127.0.0.1:8000"


class BatchControl(DeskControl):
    """The test control with the batch route, and the lines the desk told of new messages."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.woken: list[bytes] = []
        self.desk = MessageDesk(self.store, lambda: PEERS, self.woken.append)

    async def send_batch(self, requests: tuple[SendRequest, ...]) -> tuple[SendResult, ...]:
        return await self.desk.send_batch(requests)


@pytest.fixture
def control(tmp_path: Path) -> Iterator[BatchControl]:
    with BatchControl.open(tmp_path / "hotline.db") as control:
        assert isinstance(control, BatchControl)
        yield control


@pytest.fixture
async def api(control: BatchControl) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(control, token=TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=auth()) as client:
        yield client


def item(key: str, **fields: Any) -> dict[str, Any]:
    return {"peer": "moscow", "text": f"שלום {key}", "idempotency_key": key} | fields


def error(response: httpx.Response) -> tuple[int, str, str]:
    document = response.json()["error"]
    return response.status_code, document["code"], document["message"]


async def test_a_batch_answers_201_then_200_with_the_views_in_order(
    api: httpx.AsyncClient, control: BatchControl
) -> None:
    body = {
        "messages": [
            item("a"),
            item("b", precedence="flash"),
            item("c", peer="washington", text="Привет"),
        ]
    }
    first = await api.post("/v1/messages/batch", json=body)
    assert first.status_code == 201
    queued = first.json()["messages"]
    assert [(m["peer"], m["precedence"], m["created"]) for m in queued] == [
        ("moscow", "routine", True),
        ("moscow", "flash", True),
        ("washington", "routine", True),
    ]
    assert {m["state"] for m in queued} == {"queued"}
    assert set(queued[0]) == {"id", "peer", "precedence", "state", "queued_at", "created"}
    # Each line told once, though moscow's got two messages.
    assert sorted(control.woken) == sorted([PEERS["moscow"], PEERS["washington"]])
    again = await api.post("/v1/messages/batch", json=body)
    assert again.status_code == 200
    assert again.json()["messages"] == [m | {"created": False} for m in queued]
    assert len(control.woken) == 2  # nothing new: nobody told again
    outbox = (await api.get("/v1/outbox")).json()
    assert [m["id"] for m in outbox] == [queued[i]["id"] for i in (1, 0, 2)]


async def test_one_new_message_makes_the_answer_201(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/messages", json=item("a"))).status_code == 201
    mixed = await api.post("/v1/messages/batch", json={"messages": [item("a"), item("b")]})
    assert mixed.status_code == 201
    assert [m["created"] for m in mixed.json()["messages"]] == [False, True]


async def test_a_conflicting_key_refuses_the_whole_batch(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/messages", json=item("a"))).status_code == 201
    body = {"messages": [item("x"), item("a", text="another text"), item("y")]}
    status, code, _ = error(await api.post("/v1/messages/batch", json=body))
    assert (status, code) == (409, "idempotency_conflict")
    assert len((await api.get("/v1/outbox")).json()) == 1


async def test_an_unknown_peer_refuses_the_whole_batch(
    api: httpx.AsyncClient, control: BatchControl
) -> None:
    body = {"messages": [item("x"), item("y", peer="paris")]}
    assert error(await api.post("/v1/messages/batch", json=body))[:2] == (404, "peer_unknown")
    assert (await api.get("/v1/outbox")).json() == [] and control.woken == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "messages: required"),
        ({"messages": []}, f"messages: a list of 1 to {MAX_BATCH_MESSAGES} messages"),
        ({"messages": "x"}, "messages: a list of 1 to"),
        ({"messages": [item("a")], "extra": 1}, "unknown field 'extra'"),
        ({"messages": [item("a"), 7]}, "messages[1]: must be an object"),
        ({"messages": [item("a"), item("b", text="")]}, "messages[1]: text: a message cannot"),
        ({"messages": [item("a", precedance="flash")]}, "messages[0]: unknown field 'precedance'"),
        ({"messages": [{"peer": "moscow", "text": "t"}]}, "messages[0]: idempotency_key: required"),
        ({"messages": [item("a", peer="Moscow!")]}, "messages[0]: peer:"),
        ({"messages": [item("a", idempotency_key="a b")]}, "messages[0]: idempotency_key:"),
    ],
)
async def test_any_bad_item_refuses_the_batch_with_its_index(
    api: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    status, code, text = error(await api.post("/v1/messages/batch", json=body))
    assert (status, code) == (422, "invalid_request")
    assert text.startswith(message), text
    assert (await api.get("/v1/outbox")).json() == []


async def test_the_largest_batch_fits_and_one_more_is_refused(api: httpx.AsyncClient) -> None:
    full = {"messages": [item(f"k{i}", text="x" * 1024) for i in range(MAX_BATCH_MESSAGES)]}
    answer = await api.post("/v1/messages/batch", json=full)
    assert answer.status_code == 201 and len(answer.json()["messages"]) == MAX_BATCH_MESSAGES
    over = {"messages": [*full["messages"], item("one-more")]}
    assert error(await api.post("/v1/messages/batch", json=over))[:2] == (422, "invalid_request")
    assert len((await api.get("/v1/outbox")).json()) == MAX_BATCH_MESSAGES


async def test_a_body_over_the_batch_bound_is_413_before_parsing(api: httpx.AsyncClient) -> None:
    text = "x" * 60_000
    body = json.dumps({"messages": [item(f"k{i}", text=text) for i in range(70)]}).encode()
    assert len(body) > MAX_BATCH_BODY
    answer = await api.post(
        "/v1/messages/batch", content=body, headers={"Content-Type": "application/json"}
    )
    assert error(answer)[:2] == (413, "too_large")
    # The single send's bound stays as it was: a body that fits a batch is too large there.
    single = await api.post(
        "/v1/messages", content=body, headers={"Content-Type": "application/json"}
    )
    assert error(single)[:2] == (413, "too_large")
    assert (await api.get("/v1/outbox")).json() == []


def test_the_client_sends_a_batch_and_retries_it_harmlessly(control: BatchControl) -> None:
    with running(make_app(control, token=TOKEN)) as url, Client(url, TOKEN) as client:
        messages = [
            {"peer": "moscow", "text": "Привет", "precedence": "flash", "idempotency_key": "k1"},
            {"peer": "washington", "text": "hello", "idempotency_key": "k2"},
            {"peer": "moscow", "text": "שלום"},  # a fresh key
        ]
        results = client.send_batch(messages)
        assert [r.created for r in results] == [True, True, True]
        assert [(r.message.peer, r.message.precedence) for r in results] == [
            ("moscow", "flash"),
            ("washington", "routine"),
            ("moscow", "routine"),
        ]
        again = client.send_batch(messages[:2])
        assert [r.created for r in again] == [False, False]
        assert [r.message for r in again] == [r.message for r in results[:2]]
        with pytest.raises(IdempotencyConflictError):
            client.send_batch([{"peer": "moscow", "text": "other", "idempotency_key": "k1"}])
        with pytest.raises(PeerUnknownError):
            client.send_batch([{"peer": "paris", "text": "bonjour"}])
        with pytest.raises(RequestInvalidError, match=r"messages\[0\]: text"):
            client.send_batch([{"peer": "moscow", "text": ""}])
        assert [m.text for m in client.outbox()] == ["Привет", "hello", "שלום"]
