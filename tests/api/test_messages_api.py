"""POST /v1/messages, GET /v1/outbox and /v1/inbox over the daemon's desk and a real store.

Requests go through the whole app in-process (httpx's ASGI transport, with the Host and the
address a real connection to 127.0.0.1 would have): guard, parsing, desk, store thread.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotline.api import MAX_REQUEST_BODY, make_app
from hotline.constants import MAX_TEXT_LEN
from hotline.record import Precedence

from ..store.helpers import deliver
from .servers import PEERS, TOKEN, DeskControl, auth

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def control(tmp_path: Path) -> Iterator[DeskControl]:
    with DeskControl.open(tmp_path / "hotline.db") as control:
        yield control


@pytest.fixture
async def api(control: DeskControl) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(control, token=TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=auth()) as client:
        yield client


def message(**fields: Any) -> dict[str, Any]:
    return {"peer": "moscow", "text": "שלום", "idempotency_key": "key-1"} | fields


def error_code(response: httpx.Response) -> str:
    document = response.json()
    assert set(document) == {"error"} and set(document["error"]) == {"code", "message"}
    assert "\n" not in document["error"]["message"]
    code: str = document["error"]["code"]
    return code


async def test_send_answers_201_then_200_with_the_same_id(api: httpx.AsyncClient) -> None:
    first = await api.post("/v1/messages", json=message(precedence="flash"))
    assert first.status_code == 201
    queued = first.json()
    assert set(queued) == {"id", "peer", "precedence", "state", "queued_at"}
    assert queued["peer"] == "moscow" and queued["precedence"] == "flash"
    assert queued["state"] == "queued" and queued["queued_at"].endswith("Z")
    again = await api.post("/v1/messages", json=message(precedence="flash"))
    assert again.status_code == 200 and again.json() == queued
    outbox = (await api.get("/v1/outbox")).json()
    assert [m["id"] for m in outbox] == [queued["id"]]
    assert outbox[0] == {
        "id": queued["id"],
        "peer": "moscow",
        "seq": None,
        "precedence": "flash",
        "state": "queued",
        "text": "שלום",
        "queued_at": queued["queued_at"],
        "kind": "message",
    }


async def test_the_same_key_for_another_message_is_409(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/messages", json=message())).status_code == 201
    conflict = await api.post("/v1/messages", json=message(text="Привет"))
    assert conflict.status_code == 409 and error_code(conflict) == "idempotency_conflict"
    assert len((await api.get("/v1/outbox")).json()) == 1


async def test_precedence_defaults_to_routine(api: httpx.AsyncClient) -> None:
    body = {"peer": "moscow", "text": "x", "idempotency_key": "k"}
    assert (await api.post("/v1/messages", json=body)).json()["precedence"] == "routine"


@pytest.mark.parametrize(
    "text",
    ["שלום", "Привет", "Привет, שלום! 👩‍💻 \u200f\u202bמזרח\u202c", "e\u0301\u00e9\n\t\x00"],
)
async def test_texts_round_trip_through_the_api(api: httpx.AsyncClient, text: str) -> None:
    await api.post("/v1/messages", json=message(text=text))
    (stored,) = (await api.get("/v1/outbox")).json()
    assert stored["text"].encode("utf-8") == text.encode("utf-8")


async def test_the_inbox_lists_received_messages_in_delivery_order(
    api: httpx.AsyncClient, control: DeskControl
) -> None:
    assert (await api.get("/v1/inbox")).json() == []
    control.store.submit_chains(
        lambda chains: deliver(
            chains,
            ["Привет", "שלום"],
            line=PEERS["moscow"],
            precedence=Precedence.IMMEDIATE,
            sent_at_ms=1_750_000_000_001,
            now_ms=1_750_000_000_500,
        )
    ).result()
    inbox = (await api.get("/v1/inbox", params={"peer": "moscow"})).json()
    assert [(m["seq"], m["text"]) for m in inbox] == [(1, "Привет"), (2, "שלום")]
    assert set(inbox[0]) == {
        *("id", "peer", "seq", "precedence", "text", "sent_at", "received_at", "kind"),
        *("acknowledged_by", "acknowledged_at"),
    }
    assert inbox[0]["kind"] == "message" and inbox[0]["acknowledged_by"] is None
    assert inbox[0]["precedence"] == "immediate"
    assert inbox[0]["sent_at"] == "2025-06-15T15:06:40.001Z"
    assert inbox[0]["received_at"] == "2025-06-15T15:06:40.500Z"
    assert (await api.get("/v1/inbox", params={"peer": "washington"})).json() == []


async def test_unknown_peers_are_404(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/messages", json=message(peer="paris"))
    assert response.status_code == 404 and error_code(response) == "peer_unknown"
    for path in ("/v1/outbox", "/v1/inbox"):
        response = await api.get(path, params={"peer": "paris"})
        assert response.status_code == 404 and error_code(response) == "peer_unknown"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "malformed_request"),
        (b"[1, 2]", 400, "malformed_request"),
        (
            b'{"peer": "moscow", "peer": "paris", "text": "x", "idempotency_key": "k"}',
            400,
            "malformed_request",
        ),
        (b'{"peer": "moscow", "text": NaN, "idempotency_key": "k"}', 400, "malformed_request"),
        ('{"peer": "moscow", "text": "\u05e9"}'.encode("utf-16"), 400, "malformed_request"),
        (b"\xff\xfe", 400, "malformed_request"),
        (b"[" * 100_000, 400, "malformed_request"),
        (json.dumps(message(extra=1)).encode(), 422, "invalid_request"),
        (json.dumps(message(precedance="flash")).encode(), 422, "invalid_request"),
        (json.dumps({"peer": "moscow", "text": "x"}).encode(), 422, "invalid_request"),
        (json.dumps(message(text=5)).encode(), 422, "invalid_request"),
        (json.dumps(message(peer=None)).encode(), 422, "invalid_request"),
        (json.dumps(message(text="")).encode(), 422, "invalid_request"),
        (json.dumps(message(text="\ud800")).encode(), 422, "invalid_request"),
        (json.dumps(message(text="ש" * (MAX_TEXT_LEN // 2 + 1))).encode(), 422, "invalid_request"),
        (json.dumps(message(precedence="FLASH")).encode(), 422, "invalid_request"),
        (json.dumps(message(precedence="urgent")).encode(), 422, "invalid_request"),
        (json.dumps(message(idempotency_key="has space")).encode(), 422, "invalid_request"),
        (json.dumps(message(idempotency_key="k" * 65)).encode(), 422, "invalid_request"),
        (json.dumps(message(idempotency_key="")).encode(), 422, "invalid_request"),
        (json.dumps(message(peer="Moscow")).encode(), 422, "invalid_request"),
        (json.dumps(message(peer="")).encode(), 422, "invalid_request"),
    ],
)
async def test_bad_requests_are_refused_and_queue_nothing(
    api: httpx.AsyncClient, body: bytes, status: int, code: str
) -> None:
    response = await api.post(
        "/v1/messages", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert (await api.get("/v1/outbox")).json() == []


async def test_the_longest_text_is_accepted(api: httpx.AsyncClient) -> None:
    text = "ש" * (MAX_TEXT_LEN // 2)  # exactly MAX_TEXT_LEN bytes of UTF-8
    assert (await api.post("/v1/messages", json=message(text=text))).status_code == 201
    # The largest escaped spelling of a valid text still fits the body limit.
    escaped = json.dumps(message(text="\x01" * MAX_TEXT_LEN, idempotency_key="k2")).encode()
    assert len(escaped) <= MAX_REQUEST_BODY
    response = await api.post(
        "/v1/messages", content=escaped, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201


async def test_bodies_over_the_limit_are_413_declared_or_not(api: httpx.AsyncClient) -> None:
    big = b"{" + b" " * MAX_REQUEST_BODY + b"}"
    declared = await api.post(
        "/v1/messages", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and error_code(declared) == "too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(MAX_REQUEST_BODY // 4096 + 2):
            yield b" " * 4096

    streamed = await api.post(
        "/v1/messages", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413 and error_code(streamed) == "too_large"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_only_json_bodies(api: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = await api.post(
        "/v1/messages", content=json.dumps(message()).encode(), headers=headers
    )
    assert response.status_code == 415 and error_code(response) == "unsupported_media_type"


@pytest.mark.parametrize(
    "query", ["peer=moscow&peer=moscow", "peer=", "peer=MOSCOW", "other=1", "peer=a%20b"]
)
async def test_bad_queries_are_422(api: httpx.AsyncClient, query: str) -> None:
    for path in ("/v1/outbox", "/v1/inbox"):
        response = await api.get(f"{path}?{query}")
        assert response.status_code == 422 and error_code(response) == "invalid_request"


async def test_unknown_routes_and_methods_answer_json(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/nothing")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    wrong = await api.delete("/v1/outbox")
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"
    assert "GET" in wrong.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/messages"),
        ("GET", "/v1/outbox"),
        ("GET", "/v1/inbox"),
        ("GET", "/v1/openapi.json"),
    ],
)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Authorization": ""}, 401),
        (auth("cd" * 32), 401),
        ({"Host": "evil.example:8000"}, 403),
        ({"Host": "127.0.0.1:8001"}, 403),
    ],
    ids=["no-token", "wrong-token", "foreign-host", "other-port"],
)
async def test_every_route_is_guarded(
    api: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await api.request(method, path, json=message(), headers=headers)
    assert response.status_code == status
    assert error_code(response) in {"unauthorized", "forbidden_host"}
    assert (await api.get("/v1/outbox")).json() == []  # and nothing was queued


async def test_a_full_store_is_503_and_loses_nothing(
    api: httpx.AsyncClient, control: DeskControl
) -> None:
    assert (await api.post("/v1/messages", json=message())).status_code == 201

    def fill(messages: Any) -> None:
        pages = messages._db.execute("PRAGMA page_count").fetchone()[0]
        messages._db.execute(f"PRAGMA max_page_count = {pages}")

    control.store.submit(fill).result()
    response = await api.post(
        "/v1/messages", json=message(text="x" * 30_000, idempotency_key="key-2")
    )
    assert response.status_code == 503 and error_code(response) == "store_unavailable"
    assert "full" in response.json()["error"]["message"]
    outbox = (await api.get("/v1/outbox")).json()
    assert [m["text"] for m in outbox] == ["שלום"]
