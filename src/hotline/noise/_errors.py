"""The error types of the Noise core, split by blame as h11 splits them.

A caller needs to know whose fault a failure is: a ``LocalProtocolError`` means *we* used the
API wrongly (a bug to fix on our side), a ``RemoteProtocolError`` means the *peer* sent
something a correct peer never sends (drop the connection, maybe raise an alarm). Both end the
handshake: after any error a :class:`~hotline.noise.HandshakeState` is in ``ERROR`` for good.
"""

from __future__ import annotations


class NoiseError(Exception):
    """Base class of every error raised by :mod:`hotline.noise`."""


class LocalProtocolError(NoiseError):
    """We misused the API: wrong turn, missing or malformed key, message too big to send."""


class UnsupportedProtocolError(LocalProtocolError):
    """A well-formed Noise protocol name that this implementation does not run.

    Deferred patterns (``X1K``), ``fallback`` and unknown primitives land here, so a vector
    runner can count them as skipped rather than failed.
    """


class RemoteProtocolError(NoiseError):
    """The peer misbehaved: a message of the wrong length, too long, or a bad public key."""


class DecryptError(RemoteProtocolError):
    """An AEAD tag did not verify: the message was forged, corrupted or meant for someone else."""
