"""``POST /v1/lines/{peer}/resume`` and ``Client.resume``: the operator lifts a line's halts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from hotline.api import (
    ApiError,
    Client,
    NotRunningError,
    PeerUnknownError,
    RequestInvalidError,
    StoreUnavailableError,
    make_app,
)
from hotline.errors import ExitCode

from .servers import TOKEN, DeskControl, auth, free_port, running

BASE = "http://127.0.0.1:8000"
FULL = "the disk or the database is full (free some space, then retry)"


@pytest.fixture
def control(tmp_path: Path) -> Iterator[DeskControl]:
    with DeskControl.open(tmp_path / "hotline.db") as control:
        control.halted = {"moscow": 2, "washington": 1}
        yield control


@pytest.fixture
async def api(control: DeskControl) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(control, token=TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=auth()) as client:
        yield client


def error_code(response: httpx.Response) -> str:
    document = response.json()
    assert set(document) == {"error"} and set(document["error"]) == {"code", "message"}
    code: str = document["error"]["code"]
    return code


async def test_resume_answers_how_many_halts_it_lifted(
    api: httpx.AsyncClient, control: DeskControl
) -> None:
    first = await api.post("/v1/lines/moscow/resume")
    assert first.status_code == 200
    assert first.json() == {"peer": "moscow", "lifted": 2}
    again = await api.post("/v1/lines/moscow/resume")
    assert again.status_code == 200 and again.json() == {"peer": "moscow", "lifted": 0}
    assert control.halted == {"washington": 1}  # the other line keeps its halt


@pytest.mark.parametrize(
    "body",
    [{"json": {}}, {"content": b" { } ", "headers": {"Content-Type": "application/json"}}],
    ids=["empty-object", "spaced-object"],
)
async def test_an_empty_object_is_no_options(
    api: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await api.post("/v1/lines/washington/resume", **body)  # type: ignore[arg-type]
    assert response.status_code == 200 and response.json() == {"peer": "washington", "lifted": 1}


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"force": True}}, 422, "invalid_request"),
        ({"json": []}, 400, "malformed_request"),
        (
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
            400,
            "malformed_request",
        ),
        (
            {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ({"json": {"x": "y" * 400_000}}, 413, "too_large"),
    ],
    ids=["unknown-option", "not-an-object", "not-json", "not-declared-json", "too-large"],
)
async def test_any_option_is_refused_and_nothing_is_lifted(
    api: httpx.AsyncClient,
    control: DeskControl,
    kwargs: dict[str, object],
    status: int,
    code: str,
) -> None:
    response = await api.post("/v1/lines/moscow/resume", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status and error_code(response) == code
    assert control.halted == {"moscow": 2, "washington": 1}


async def test_an_unknown_peer_is_404_and_a_bad_name_422(
    api: httpx.AsyncClient, control: DeskControl
) -> None:
    unknown = await api.post("/v1/lines/paris/resume")
    assert unknown.status_code == 404 and error_code(unknown) == "peer_unknown"
    assert unknown.json()["error"]["message"] == "no paired station is named 'paris' (see peers)"
    bad = await api.post("/v1/lines/Moscow/resume")
    assert bad.status_code == 422 and error_code(bad) == "invalid_request"
    assert bad.json()["error"]["message"].startswith("peer: bad station name")
    missing = await api.post("/v1/lines//resume")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    wrong = await api.get("/v1/lines/moscow/resume")
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"
    assert control.halted == {"moscow": 2, "washington": 1}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Authorization": ""}, 401, "unauthorized"),
        (auth("cd" * 32), 401, "unauthorized"),
        ({"Host": "evil.example:8000"}, 403, "forbidden_host"),
    ],
    ids=["no-token", "wrong-token", "foreign-host"],
)
async def test_only_the_operator_resumes(
    api: httpx.AsyncClient, control: DeskControl, headers: dict[str, str], status: int, code: str
) -> None:
    response = await api.post("/v1/lines/moscow/resume", headers=headers)
    assert response.status_code == status and error_code(response) == code
    assert control.halted == {"moscow": 2, "washington": 1}


class BrokenStore:
    """A control whose store fails, as the daemon's does on a full disk."""

    async def resume(self, peer: str) -> int:
        raise StoreUnavailableError(FULL)


async def test_a_failing_store_is_503() -> None:
    transport = httpx.ASGITransport(app=make_app(BrokenStore(), token=TOKEN))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=auth()) as api:
        response = await api.post("/v1/lines/moscow/resume")
    assert response.status_code == 503 and error_code(response) == "store_unavailable"
    assert response.json()["error"]["message"] == FULL


# --- the client -----------------------------------------------------------------------------


def test_the_client_returns_the_count(control: DeskControl) -> None:
    with running(make_app(control, token=TOKEN)) as url, Client(url, TOKEN) as client:
        assert client.resume("moscow") == 2
        assert client.resume("moscow") == 0
        assert client.resume("washington") == 1


@pytest.mark.parametrize(
    ("peer", "error", "exit_code"),
    [
        ("paris", PeerUnknownError, ExitCode.PEER_UNKNOWN),
        ("NOT A NAME", RequestInvalidError, ExitCode.REQUEST_INVALID),
        ("../status", RequestInvalidError, ExitCode.REQUEST_INVALID),  # never another route
    ],
)
def test_client_refusals_are_their_own_errors(
    control: DeskControl, peer: str, error: type[ApiError], exit_code: int
) -> None:
    with (
        running(make_app(control, token=TOKEN)) as url,
        Client(url, TOKEN) as client,
        pytest.raises(error) as caught,
    ):
        client.resume(peer)
    assert caught.value.exit_code == exit_code
    assert control.halted == {"moscow": 2, "washington": 1}


def test_the_client_says_when_the_store_fails() -> None:
    app = make_app(BrokenStore(), token=TOKEN)  # type: ignore[arg-type]
    with (
        running(app) as url,
        Client(url, TOKEN) as client,
        pytest.raises(StoreUnavailableError) as caught,
    ):
        client.resume("moscow")
    assert caught.value.exit_code == ExitCode.STORE_FAILED and str(caught.value) == FULL


def test_the_client_says_when_nothing_answers() -> None:
    with (
        Client(f"http://127.0.0.1:{free_port()}", TOKEN) as client,
        pytest.raises(NotRunningError) as caught,
    ):
        client.resume("moscow")
    assert caught.value.exit_code == ExitCode.NOT_RUNNING
