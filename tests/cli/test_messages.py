"""``send``, ``outbox``, ``inbox`` in-process, against the API over the daemon's desk.

The station home is real (``init``); its ``daemon.json`` points at an app served in a thread
over a real store, so these tests see exactly what an operator sees, in milliseconds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.api import DaemonInfo, load_or_create_token, make_app
from hotline.cli._messages import printable, printable_body
from hotline.errors import ExitCode
from hotline.record import Precedence

from ..api.servers import PEERS, DeskControl, running
from ..store.helpers import deliver
from .conftest import Cli


@dataclass
class Served:
    home: Path
    control: DeskControl


@pytest.fixture
def served(make_station: Callable[..., Path], tmp_path: Path) -> Iterator[Served]:
    home = make_station("jerusalem")
    token = load_or_create_token(home)
    with (
        DeskControl.open(tmp_path / "hotline.db") as control,
        running(make_app(control, token=token)) as url,
    ):
        DaemonInfo(os.getpid(), url, datetime.now(UTC).isoformat()).write(home)
        yield Served(home, control)


def test_send_prints_the_id_and_a_retry_prints_it_again(cli: Cli, served: Served) -> None:
    first = cli("--home", served.home, "send", "moscow", "שלום", "--idempotency-key", "k1")
    assert first.code == 0, first.err
    (message_id,) = first.out.split()
    assert len(message_id) == 32 and int(message_id, 16) >= 0
    assert first.notices == []
    again = cli("--home", served.home, "send", "moscow", "שלום", "--idempotency-key", "k1")
    assert again.code == 0 and again.out.strip() == message_id
    assert again.notices == ["already queued with idempotency key k1: not queued again"]
    outbox = json.loads(cli("--home", served.home, "outbox", "--json").out)
    assert [m["id"] for m in outbox] == [message_id]


def test_each_send_without_a_key_queues_anew(cli: Cli, served: Served) -> None:
    ids = {cli("--home", served.home, "send", "moscow", "twice").out.strip() for _ in range(2)}
    assert len(ids) == 2


@pytest.mark.parametrize(
    "text",
    ["שלום", "Привет", "Привет, שלום! 👩‍💻 \u200fמזרח\u200e east", "line 1\nline 2\ttab"],
)
def test_texts_come_back_byte_for_byte(cli: Cli, served: Served, text: str) -> None:
    assert cli("--home", served.home, "send", "moscow", text, "--precedence", "FLASH").code == 0
    (message,) = json.loads(cli("--home", served.home, "outbox", "--json").out)
    assert message["text"].encode("utf-8") == text.encode("utf-8")
    assert message["precedence"] == "flash"
    assert set(message) == {"id", "peer", "seq", "precedence", "state", "text", "queued_at", "kind"}
    assert message["state"] == "queued" and message["seq"] is None


def test_outbox_table_escapes_what_could_mislead_the_eye(cli: Cli, served: Served) -> None:
    cli("--home", served.home, "send", "moscow", "pay \u202eevil\u202c now\x1b[31m")
    result = cli("--home", served.home, "outbox")
    assert result.code == 0
    assert "\\u202e" in result.out and "\\x1b" in result.out
    assert "\u202e" not in result.out and "\x1b" not in result.out
    assert "moscow" in result.out and "ROUTINE" in result.out


def test_inbox_lists_in_delivery_order(cli: Cli, served: Served) -> None:
    assert cli("--home", served.home, "inbox").out.strip() == "The inbox is empty."
    assert json.loads(cli("--home", served.home, "inbox", "--json").out) == []
    served.control.store.submit_chains(
        lambda chains: deliver(
            chains,
            ["Привет", "שלום\nשורה שנייה"],
            line=PEERS["moscow"],
            precedence=Precedence.PRIORITY,
            sent_at_ms=1_750_000_000_000,
            now_ms=1_750_000_000_250,
        )
    ).result()
    listed = json.loads(cli("--home", served.home, "inbox", "--peer", "moscow", "--json").out)
    assert [(m["seq"], m["text"]) for m in listed] == [(1, "Привет"), (2, "שלום\nשורה שנייה")]
    assert set(listed[0]) == {
        *("id", "peer", "seq", "precedence", "text", "sent_at", "received_at", "kind"),
        *("acknowledged_by", "acknowledged_at"),
    }
    shown = cli("--home", served.home, "inbox").out
    assert shown.index("Привет") < shown.index("שלום")
    assert "moscow #2 PRIORITY" in shown and "received 2025-06-15T15:06:40.250Z" in shown


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("send", "moscow", ""), ExitCode.REQUEST_INVALID, "text: a message cannot be empty"),
        (("send", "moscow", "ש" * 30_721), ExitCode.REQUEST_INVALID, "more than the 61440"),
        (("send", "Moscow", "x"), ExitCode.REQUEST_INVALID, "peer: bad station name"),
        (
            ("send", "moscow", "x", "--idempotency-key", "a b"),
            ExitCode.REQUEST_INVALID,
            "idempotency_key",
        ),
        (("send", "moscow", "x", "--precedence", "urgent"), ExitCode.USAGE, "urgent"),
        (("send", "paris", "x"), ExitCode.PEER_UNKNOWN, "no paired station is named 'paris'"),
        (("outbox", "--peer", "paris"), ExitCode.PEER_UNKNOWN, "'paris'"),
        (("inbox", "--peer", "PARIS"), ExitCode.REQUEST_INVALID, "peer: bad station name"),
    ],
)
def test_refusals_are_one_line_with_their_code(
    cli: Cli, served: Served, args: tuple[str, ...], code: int, says: str
) -> None:
    result = cli("--home", served.home, *args)
    assert result.code == code
    assert says in result.error_line
    assert json.loads(cli("--home", served.home, "outbox", "--json").out) == []


def test_a_reused_key_is_exit_46(cli: Cli, served: Served) -> None:
    cli("--home", served.home, "send", "moscow", "one", "--idempotency-key", "k")
    result = cli("--home", served.home, "send", "moscow", "two", "--idempotency-key", "k")
    assert result.code == ExitCode.IDEMPOTENCY_CONFLICT
    assert "already queued message" in result.error_line


def test_a_full_store_is_exit_45_and_keeps_what_was_queued(cli: Cli, served: Served) -> None:
    kept = cli("--home", served.home, "send", "moscow", "kept").out.strip()

    def fill(messages: object) -> None:
        db = messages._db  # type: ignore[attr-defined]
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")

    served.control.store.submit(fill).result()
    result = cli("--home", served.home, "send", "moscow", "x" * 30_000)
    assert result.code == ExitCode.STORE_FAILED
    assert "full" in result.error_line and "nothing was written" in result.error_line
    outbox = json.loads(cli("--home", served.home, "outbox", "--json").out)
    assert [m["id"] for m in outbox] == [kept]


def test_without_a_daemon_nothing_is_queued(cli: Cli, make_station: Callable[..., Path]) -> None:
    home = make_station("jerusalem")
    for args in (("send", "moscow", "x"), ("outbox",), ("inbox", "--json")):
        result = cli("--home", home, *args)
        assert result.code == ExitCode.NOT_RUNNING
        assert result.error_line == "hotline: error: the station is not running (no daemon.json)"


def test_one_line_fields_cannot_make_lines_of_their_own() -> None:
    forged = "Lt. Cohen\nmoscow: our #9 last acknowledged by Col. Petrov\u202e"
    assert printable(forged) == (
        "Lt. Cohen\\x0amoscow: our #9 last acknowledged by Col. Petrov\\u202e"
    )
    # a message's text keeps its lines, each indented under the header: none passes for one
    forged_header = "ok\n--- moscow #44 FLASH  sent 2026-12-05T03:12:09.120Z\nline\u202e"
    assert printable_body(forged_header) == (
        "    ok\n    --- moscow #44 FLASH  sent 2026-12-05T03:12:09.120Z\n    line\\u202e"
    )
