"""``host:port`` strings (as on cards and in ``station.toml``) to socket addresses and back, and
the one way a refused stream is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct


def split_address(address: str) -> tuple[str, int]:
    """Return ``(host, port)`` of a checked ``host:port`` (IPv6 hosts in brackets).

    Raises:
        ValueError: no port, or a port that is not a number.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"bad address {address!r}: expected host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def format_address(address: object) -> str:
    """Return ``host:port`` (IPv6 in brackets) for a socket address tuple."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)


def reset(transport: asyncio.Transport) -> None:
    """Drop a stream with an RST (``SO_LINGER`` 0), without a word.

    A refused stream leaves no ``TIME_WAIT`` socket behind on our side, so a flood of short
    connections costs the listener nothing once each is refused.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
