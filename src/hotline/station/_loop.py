"""The daemon's event loop: uvloop, chosen by measurement.

``bench/bench_loop.py`` runs the same Hotline lines over loopback on both loops (handshakes per
second, DATA frames per second); the numbers and the reasons are in BENCHMARKS.md, section
"Event loop". The choice is made here, once: nothing else in Hotline depends on which loop
runs, and the tests run the line layer on the default loop as well (pytest-asyncio's).
"""

from __future__ import annotations

import asyncio

import uvloop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a new uvloop event loop."""
    return uvloop.new_event_loop()
