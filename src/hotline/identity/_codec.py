"""A cursor over bytes with bounded, length-checked pulls (aioquic's ``Buffer`` in miniature).

Every identity format (card, key file, the peers integrity input) is a fixed sequence of
big-endian integers and length-prefixed byte strings. Reading goes through :class:`Reader` so
that each length is checked against what remains *and* against a named maximum before a byte is
copied, and so that :meth:`Reader.finish` rejects trailing bytes. The writer side is two small
functions, so encoding and decoding share one definition of a length prefix.
"""

from __future__ import annotations

from typing import Final

from ._errors import IdentityError

_PREFIX_MAX: Final = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF}


def encode_uint(value: int, size: int) -> bytes:
    """Return ``value`` as a big-endian unsigned integer of ``size`` bytes.

    Raises:
        ValueError: the value does not fit (a bug in the caller, never input from outside).
    """
    if not 0 <= value <= _PREFIX_MAX[size]:
        raise ValueError(f"{value} does not fit in {size} bytes")
    return value.to_bytes(size, "big")


def encode_vec(data: bytes, prefix: int) -> bytes:
    """Return ``data`` preceded by its length as a ``prefix``-byte big-endian integer."""
    return encode_uint(len(data), prefix) + data


class Reader:
    """Pull fields off the front of a byte string; any shortfall raises the caller's error type.

    Args:
        data: the bytes to read.
        error: the :class:`IdentityError` subclass raised on malformed input, so a card parser
            raises ``CardFormatError`` and a key file parser ``KeyFileCorruptError``.
        what: a noun for messages ("card", "key file").
    """

    __slots__ = ("_data", "_error", "_pos", "_what")

    def __init__(self, data: bytes, error: type[IdentityError], what: str) -> None:
        self._data = data
        self._error = error
        self._what = what
        self._pos = 0

    @property
    def position(self) -> int:
        """How many bytes have been pulled so far."""
        return self._pos

    def fail(self, reason: str) -> IdentityError:
        """Return (for the caller to raise) the error for a malformed field."""
        return self._error(f"malformed {self._what}: {reason}")

    def pull_bytes(self, length: int) -> bytes:
        """Return the next ``length`` bytes.

        Raises:
            IdentityError: (the caller's subclass) fewer than ``length`` bytes remain.
        """
        end = self._pos + length
        if end > len(self._data):
            raise self.fail("truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def pull_uint(self, size: int) -> int:
        """Return the next ``size``-byte big-endian unsigned integer."""
        return int.from_bytes(self.pull_bytes(size), "big")

    def pull_vec(self, prefix: int, max_len: int, field: str) -> bytes:
        """Return a length-prefixed byte string of at most ``max_len`` bytes.

        Args:
            prefix: size of the length prefix in bytes (1, 2 or 4).
            max_len: the named limit for this field; a longer length is refused before reading.
            field: the field name, for the message.

        Raises:
            IdentityError: (the caller's subclass) the length exceeds ``max_len`` or the data.
        """
        length = self.pull_uint(prefix)
        if length > max_len:
            raise self.fail(f"{field} is {length} bytes, more than {max_len}")
        return self.pull_bytes(length)

    def finish(self) -> None:
        """Check that every byte was consumed.

        Raises:
            IdentityError: (the caller's subclass) trailing bytes remain.
        """
        if self._pos != len(self._data):
            raise self.fail(f"{len(self._data) - self._pos} trailing bytes")
