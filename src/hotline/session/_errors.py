"""The session's errors: the Noise core's two roots, plus the session's own refusals.

A caller catches ``RemoteProtocolError`` for anything the peer did wrong, whichever layer saw it
(Noise, handshake, frame codec, session state), and ``LocalProtocolError`` for its own misuse.
"""

from __future__ import annotations

from hotline.noise import RemoteProtocolError


class FrameError(RemoteProtocolError):
    """A frame that does not parse: unknown version or type, bad size, trailing bytes."""


class Msg1FloodError(RemoteProtocolError):
    """A msg1 opening a connection less than ``MSG1_MIN_INTERVAL`` after the last one accepted
    from the same peer; refused before any DH (WireGuard's initiation rate limit)."""
