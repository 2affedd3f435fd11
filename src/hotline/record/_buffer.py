"""A cursor over bytes: pushes for writing, length-checked pulls for reading (aioquic's habit).

Every record structure is a fixed sequence of big-endian integers, fixed-size byte strings and
``vbytes`` (a u32 length, then the bytes). :class:`Writer` builds one; :class:`Reader` takes one
apart, checking each length against what remains *and* against the field's named maximum before
copying a byte, and :meth:`Reader.finish` refuses trailing bytes. Both ends share one definition
of every primitive, so an encoding and its decoding cannot drift apart.
"""

from __future__ import annotations

import enum
from typing import Final, TypeVar

from ._errors import MalformedError, UnknownValueError

_U64_MAX: Final = 2**64 - 1

_Code = TypeVar("_Code", bound=enum.IntEnum)


def check_u64(value: int, field: str) -> None:
    """Refuse an integer that does not fit a u64 field.

    Raises:
        MalformedError: ``value`` is negative or at least 2**64.
    """
    if not 0 <= value <= _U64_MAX:
        raise MalformedError(f"{field} {value} does not fit in 64 bits")


#: The latest time a record may carry: 9999-12-31T23:59:59.999Z in UTC milliseconds. Every
#: time is shown as an ISO 8601 date (which ends there), and a store keeps the sequenced time
#: in an SQLite INTEGER column (which holds far more).
MAX_TIME_MS: Final = 253_402_300_799_999


def check_time(value: int, field: str) -> None:
    """Refuse a time (UTC milliseconds, a u64 field) past :data:`MAX_TIME_MS`.

    Raises:
        MalformedError: ``value`` is negative or past ``MAX_TIME_MS``.
    """
    if not 0 <= value <= MAX_TIME_MS:
        raise MalformedError(f"{field} {value} is not a time (0 ms to the end of year 9999)")


#: Per code table, its members by value: a dict lookup, where calling the enum class costs a
#: microsecond, and every envelope has three codes.
_MEMBERS: Final[dict[type[enum.IntEnum], dict[int, enum.IntEnum]]] = {}


def as_code(table: type[_Code], value: int, field: str) -> _Code:
    """Return ``value`` as a member of ``table``.

    Raises:
        UnknownValueError: the value is not in the table.
    """
    members = _MEMBERS.get(table)
    if members is None:
        members = _MEMBERS[table] = {int(member): member for member in table}
    try:
        return members[value]  # type: ignore[return-value]
    except (KeyError, TypeError):
        raise UnknownValueError(f"unknown {field} {value}", field=field, value=value) from None


def encode_text(text: str, max_len: int, field: str) -> bytes:
    """Return ``text`` as UTF-8, refusing what cannot be a ``text(max_len)`` field.

    Raises:
        MalformedError: the text holds lone surrogates or is longer than ``max_len`` bytes.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedError(f"{field} is not valid Unicode (lone surrogates)") from None
    if len(data) > max_len:
        raise MalformedError(f"{field} is {len(data)} bytes, more than {max_len}")
    return data


class Writer:
    """Append fields to a growing byte string; :attr:`data` returns what was written."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def data(self) -> bytes:
        """Everything written so far."""
        return bytes(self._buffer)

    def push_u8(self, value: int) -> None:
        """Write one byte (values come from the code tables, so they always fit)."""
        self._buffer.append(value)

    def push_u32(self, value: int) -> None:
        """Write a u32, big-endian."""
        self._buffer += value.to_bytes(4, "big")

    def push_u64(self, value: int) -> None:
        """Write a u64, big-endian."""
        self._buffer += value.to_bytes(8, "big")

    def push_bytes(self, data: bytes) -> None:
        """Write ``data`` as it is (a fixed-size field: its size was checked by its owner)."""
        self._buffer += data

    def push_vbytes(self, data: bytes) -> None:
        """Write ``data`` preceded by its length as a u32."""
        self.push_u32(len(data))
        self._buffer += data


class Reader:
    """Pull fields off the front of ``data``; any shortfall is a :class:`MalformedError`.

    Args:
        data: the bytes to read.
        what: a noun for messages ("envelope", "receipt").
    """

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def fail(self, reason: str) -> MalformedError:
        """Return (for the caller to raise) the error for a malformed field."""
        return MalformedError(f"malformed {self._what}: {reason}")

    @property
    def remaining(self) -> int:
        """How many bytes are left to read."""
        return len(self._data) - self._pos

    def pull_bytes(self, length: int) -> bytes:
        """Return the next ``length`` bytes.

        Raises:
            MalformedError: fewer than ``length`` bytes remain.
        """
        end = self._pos + length
        if end > len(self._data):
            raise self.fail("truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def pull_u8(self) -> int:
        """Return the next byte."""
        return self.pull_bytes(1)[0]

    def pull_u32(self) -> int:
        """Return the next u32."""
        return int.from_bytes(self.pull_bytes(4), "big")

    def pull_u64(self) -> int:
        """Return the next u64."""
        return int.from_bytes(self.pull_bytes(8), "big")

    def pull_code(self, table: type[_Code], field: str) -> _Code:
        """Return the next byte as a member of ``table``.

        Raises:
            UnknownValueError: the byte is not in the table.
        """
        return as_code(table, self.pull_u8(), field)

    def pull_vbytes(self, max_len: int, field: str) -> bytes:
        """Return a u32-length-prefixed byte string of at most ``max_len`` bytes.

        Raises:
            MalformedError: the length exceeds ``max_len`` or what remains.
        """
        length = self.pull_u32()
        if length > max_len:
            raise self.fail(f"{field} is {length} bytes, more than {max_len}")
        return self.pull_bytes(length)

    def pull_text(self, max_len: int, field: str) -> str:
        """Return a ``text(max_len)`` field: strict UTF-8 of at most ``max_len`` bytes.

        Raises:
            MalformedError: too long, truncated, or not valid UTF-8 (overlong forms and encoded
                surrogates included).
        """
        data = self.pull_vbytes(max_len, field)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{field} is not valid UTF-8") from None

    def finish(self) -> None:
        """Check that every byte was consumed.

        Raises:
            MalformedError: trailing bytes remain.
        """
        if self._pos != len(self._data):
            raise self.fail(f"{len(self._data) - self._pos} trailing bytes")
