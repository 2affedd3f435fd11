"""``hotline status`` prints the daemon's strings as they are, never as rich markup."""

from __future__ import annotations

import io

from rich.console import Console

from hotline.cli._daemon import status_table


def test_an_ipv6_path_and_odd_names_survive_the_table() -> None:
    answer = {
        "station": "[bold]jerusalem",
        "lines": [
            {
                "peer": "mos[/]cow",
                "state": "up",
                "path": "[fd00::1]:7401",
                "rtt_ms": 12,
                "session_age_s": 3,
                "last_handshake": None,
                "rekeys": 0,
            }
        ],
    }
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(status_table(answer))
    text = out.getvalue()
    assert "[fd00::1]:7401" in text
    assert "mos[/]cow" in text
    assert "Station [bold]jerusalem" in text
    assert "12 ms" in text
