"""Input checks shared by the modules that take keys from callers."""

from __future__ import annotations

from ._errors import LocalProtocolError, RemoteProtocolError


def require_bytes(value: object, what: str, length: int | None = None) -> bytes:
    """Return ``value`` if it is ``bytes`` (of ``length`` bytes when given).

    Keys are accepted only as ``bytes``: a ``str`` key is the classic way a passphrase or a hex
    string ends up used as raw key material, so it is refused outright.

    Raises:
        LocalProtocolError: wrong type or wrong length.
    """
    if not isinstance(value, bytes):
        raise LocalProtocolError(f"{what} must be bytes, not {type(value).__name__}")
    if length is not None and len(value) != length:
        raise LocalProtocolError(f"{what} must be {length} bytes, got {len(value)}")
    return value


class Reader:
    """A cursor over one message from the peer: every take is bounds-checked."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def take(self, size: int) -> bytes:
        """Return the next ``size`` bytes.

        Raises:
            RemoteProtocolError: fewer than ``size`` bytes are left.
        """
        end = self._offset + size
        if end > len(self._data):
            raise RemoteProtocolError(
                f"message too short: needs {end} bytes, has {len(self._data)}"
            )
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def rest(self) -> bytes:
        """Return every byte not taken yet."""
        return self._data[self._offset :]
