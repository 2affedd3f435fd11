"""The session's errors: the Noise core's two roots, plus one for malformed frames.

A caller catches ``RemoteProtocolError`` for anything the peer did wrong, whichever layer saw it
(Noise, handshake, frame codec, session state), and ``LocalProtocolError`` for its own misuse.
"""

from __future__ import annotations

from hotline.noise import RemoteProtocolError


class FrameError(RemoteProtocolError):
    """A frame that does not parse: unknown version or type, bad size, trailing bytes."""
