"""Structured log lines: one event per line, fields that split back unambiguously."""

from __future__ import annotations

import logging
import shlex

import pytest

from hotline.logfmt import KeyValueFormatter, format_value, log_event


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("moscow", "moscow"),
        ("127.0.0.1:7402", "127.0.0.1:7402"),
        ("[::1]:7402", "[::1]:7402"),
        (None, "-"),
        (True, "true"),
        (1.5, "1.5"),
        (2.0, "2"),
        (0.12345, "0.123"),
        (3, "3"),
        ("two words", '"two words"'),
        ('a"b', '"a\\"b"'),
        ("k=v", '"k=v"'),
        ("line\nbreak", '"line\\nbreak"'),
        # From the network, nothing may end a line or change how one displays:
        ("esc\x1b[2J", '"esc\\u001b[2J"'),
        ("nel\x85x", '"nel\\u0085x"'),
        ("del\x7f", '"del\\u007f"'),
        ("ls\u2028ps\u2029", '"ls\\u2028ps\\u2029"'),
        ("rlo\u202egnp.exe", '"rlo\\u202egnp.exe"'),
        ("isolate\u2066x\u2069", '"isolate\\u2066x\\u2069"'),
        ("mark\u200e\u200f\u061c", '"mark\\u200e\\u200f\\u061c"'),
        ("Москва é", '"Москва é"'),
    ],
)
def test_values_are_bare_or_quoted(value: object, text: str) -> None:
    assert format_value(value) == text


def test_a_record_is_one_line_of_fields(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("hotline.test")
    with caplog.at_level(logging.INFO, "hotline.test"):
        log_event(logger, logging.INFO, "line up", peer="moscow", reason="the peer closed\nit")
    line = KeyValueFormatter().format(caplog.records[0])
    assert "\n" not in line
    words = shlex.split(line)
    assert words[1:4] == ["info", "line", "up"]
    assert words[4:] == ["peer=moscow", "reason=the peer closed\\nit"]
    assert words[0].endswith("Z")


def test_a_foreign_message_cannot_forge_a_line(caplog: pytest.LogCaptureFixture) -> None:
    """A library's own message (uvicorn's, say) is escaped like a field value."""
    with caplog.at_level(logging.WARNING, "hotline.test"):
        logging.getLogger("hotline.test").warning("bad\n2026 info line up\x1b[2J\u202e")
    line = KeyValueFormatter().format(caplog.records[0])
    assert line.endswith("bad\\u000a2026 info line up\\u001b[2J\\u202e")
    assert len(line.splitlines()) == 1


def test_disabled_levels_cost_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "hotline.test"):
        log_event(logging.getLogger("hotline.test"), logging.INFO, "quiet", x=1)
    assert not caplog.records
