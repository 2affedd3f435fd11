"""``GET /v1/lines/{peer}/record``: the query's rules, and ``Client.record`` over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from hotline.api import RECORD_MEDIA_TYPE, Client, PeerUnknownError, RecordQuery, make_app

from .servers import TOKEN, DeskControl, auth, running

BASE = "http://127.0.0.1:8000"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.fixture
def control(tmp_path: Path) -> Iterator[DeskControl]:
    with DeskControl.open(tmp_path / "hotline.db") as control:
        yield control


@pytest.fixture
async def api(control: DeskControl) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(control, token=TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=auth()) as client:
        yield client


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({}, RecordQuery(None, None, False)),
        ({"redact_bodies": "true"}, RecordQuery(None, None, True)),
        (
            {"from": "2026-12-05T10:00:00Z", "to": "2026-12-05T12:00:00.250+02:00"},
            RecordQuery(ms("2026-12-05T10:00:00+00:00"), ms("2026-12-05T10:00:00.250+00:00")),
        ),
        (
            {"from": "2026-12-05", "to": "2026-12-05"},
            RecordQuery(ms("2026-12-05T00:00:00+00:00"), ms("2026-12-05T23:59:59.999+00:00")),
        ),
    ],
)
async def test_the_query_names_the_window(
    api: httpx.AsyncClient, control: DeskControl, params: dict[str, str], query: RecordQuery
) -> None:
    response = await api.get("/v1/lines/moscow/record", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == RECORD_MEDIA_TYPE
    assert response.content == b"\x89HLR\r\n\x1a\nmoscow"
    assert control.record_queries == [("moscow", query)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-12-05T10:00:00", "from: give the time zone"),
        ("to=tomorrow", "to: not an ISO 8601 time or date"),
        ("from=1969-12-31", "from: before 1970"),
        ("from=2026-12-06&to=2026-12-05", "ends before it starts"),
        ("redact_bodies=yes", "redact_bodies: true or false"),
        ("redact=true", "unknown query parameter 'redact'"),
        ("from=2026-12-05&from=2026-12-06", "from: given more than once"),
    ],
)
async def test_a_bad_query_is_refused_with_its_reason(
    api: httpx.AsyncClient, control: DeskControl, query: str, message: str
) -> None:
    response = await api.get(f"/v1/lines/moscow/record?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert message in response.json()["error"]["message"]
    assert control.record_queries == []


async def test_an_unknown_peer_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/lines/paris/record")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "peer_unknown"


def test_the_client_returns_the_bytes_and_passes_the_window(control: DeskControl) -> None:
    with running(make_app(control, token=TOKEN)) as url, Client(url, TOKEN) as client:
        assert client.record("moscow", start="2026-12-05", redact_bodies=True).endswith(b"moscow")
        with pytest.raises(PeerUnknownError):
            client.record("paris")
    assert control.record_queries == [
        ("moscow", RecordQuery(ms("2026-12-05T00:00:00+00:00"), None, True))
    ]
