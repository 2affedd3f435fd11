"""The public surface of :mod:`hotline.session`: what a later issue may import, no more."""

from __future__ import annotations

import hotline.session


def test_the_public_surface() -> None:
    public = {name for name in dir(hotline.session) if not name.startswith("_")}
    assert public == {
        "Acceptor", "Close", "CloseReason", "Connection", "ConnectionState",
        "ConnectionTerminated", "Data", "Event", "Flight", "Frame", "FrameCodec", "FrameError",
        "FrameReader", "FrameReceived", "Hello", "Identified", "LocalProtocolError",
        "MIN_REKEY_AFTER", "Msg1FloodError", "PeerTimestamps", "Ping", "PingReceived", "Pong",
        "PongReceived",
        "Rejected", "RemoteProtocolError", "Rekey", "SESSION_FRAMES", "SessionConfig",
        "SessionEstablished", "SessionTiming", "Switch", "TimestampAccepted", "TimestampSent",
        "with_length",
    }  # fmt: skip


def test_every_public_name_is_a_re_export_of_a_private_module() -> None:
    """``__init__`` only re-exports (trio's rule): the code lives in ``_x`` modules."""
    for name in dir(hotline.session):
        if name.startswith("_"):
            continue
        module = getattr(getattr(hotline.session, name), "__module__", None)
        if module is not None:
            assert module.rsplit(".", 1)[-1].startswith("_"), (name, module)
