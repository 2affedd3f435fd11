"""The stream wire: each Noise message preceded by its length, and a bounded receive buffer.

    stream = ( length (2, big-endian) || noise message (length bytes) )*

Denial-of-service reasoning (as h11's ``_receivebuffer.py`` gives its own). Its readers take
messages out of the buffer as soon as they are complete, and feed it in bounded slices:

- a :class:`~hotline.session.Connection` feeds at most one largest message and its prefix
  (``FEED_SLICE``, 65537 bytes) at a time, then takes out every whole message. So the buffer
  holds at most one incomplete message with its prefix (< 65537 bytes) left from before, plus
  one slice: under 128 KiB, whatever chunk the caller passes and whatever the peer sends.
  Between calls it holds less than one message and its prefix;
- an :class:`~hotline.session.Acceptor` feeds only the bytes that complete one msg1, so it never
  holds more than 2 + 1672 bytes.

Where the next message has a known size (the handshake flights are fixed-size), the prefix is
checked the moment its two bytes arrive, so a peer cannot make an unauthenticated connection
buffer more than the one flight it is allowed to send.
"""

from __future__ import annotations

from hotline.constants import LENGTH_PREFIX_LEN, MAX_NOISE_MESSAGE_LEN
from hotline.noise import LocalProtocolError, RemoteProtocolError


def with_length(message: bytes) -> bytes:
    """Return ``message`` with its 2-byte big-endian length in front.

    Raises:
        LocalProtocolError: ``message`` is empty or longer than 65535 bytes.
    """
    if not 0 < len(message) <= MAX_NOISE_MESSAGE_LEN:
        raise LocalProtocolError(f"a Noise message is 1..65535 bytes, not {len(message)}")
    return len(message).to_bytes(LENGTH_PREFIX_LEN, "big") + message


class ReceiveBuffer:
    """Bytes received but not yet parsed into whole messages."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data = bytearray()

    def __len__(self) -> int:
        return len(self._data)

    def feed(self, data: bytes | memoryview) -> None:
        """Append bytes from the stream (the readers bound how many, see above)."""
        self._data += data

    def take(self) -> bytes:
        """Remove and return everything buffered (to hand it to another parser)."""
        data = bytes(self._data)
        self._data.clear()
        return data

    def next_message(self, min_len: int, max_len: int) -> bytes | None:
        """Remove and return the next whole message, or ``None`` until one is complete.

        Args:
            min_len: the shortest message acceptable here.
            max_len: the longest message acceptable here (``min_len`` for a fixed size).

        Raises:
            RemoteProtocolError: the length prefix is outside ``min_len .. max_len``; checked
                as soon as the prefix arrives.
        """
        if len(self._data) < LENGTH_PREFIX_LEN:
            return None
        length = int.from_bytes(self._data[:LENGTH_PREFIX_LEN], "big")
        if not min_len <= length <= max_len:
            expected = str(min_len) if min_len == max_len else f"{min_len}..{max_len}"
            raise RemoteProtocolError(f"message of {length} bytes where {expected} are allowed")
        end = LENGTH_PREFIX_LEN + length
        if len(self._data) < end:
            return None
        message = bytes(self._data[LENGTH_PREFIX_LEN:end])
        del self._data[:end]
        return message
