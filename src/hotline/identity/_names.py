"""The rules for station names and addresses, shared by cards and ``station.toml``.

Both end up inside a signed card, so each accepts exactly one spelling of a value: a name is
lower-case ASCII, an address is ``host:port`` with a lower-case host, a canonical IP literal and
a port without leading zeros. Two equal addresses are then always equal strings, and nothing in
a card can look like another character (no Unicode confusables, no control characters).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from ._constants import MAX_ADDRESS_LEN, MAX_NAME_LEN

_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]*")
_DNS_LABEL_RE: Final = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_PORT_RE: Final = re.compile(r"[1-9][0-9]{0,4}")


def check_station_name(name: str) -> str:
    """Return ``name`` if it is a valid station name.

    A name is 1 to 64 characters from ``[a-z0-9._-]``, starting with a letter or digit (so it
    never reads as a command-line option or a hidden file).

    Raises:
        ValueError: with a one-line reason.
    """
    if not name:
        raise ValueError("a station name cannot be empty")
    if len(name) > MAX_NAME_LEN:
        raise ValueError(f"a station name is at most {MAX_NAME_LEN} characters")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"bad station name {name!r}: use a-z, 0-9, '.', '-', '_', starting with a-z or 0-9"
        )
    return name


def check_address(address: str) -> str:
    """Return ``address`` if it is a canonical ``host:port``.

    ``host`` is a lower-case DNS name, an IPv4 address, or an IPv6 address in brackets, IP
    literals in their canonical (RFC 5952) form, IPv6 without an IPv4-mapped address or a zone
    id; ``port`` is 1 to 65535 without leading zeros. A host of only digits and dots must be
    an IPv4 address.

    Raises:
        ValueError: with a one-line reason.
    """
    if not address.isascii() or len(address) > MAX_ADDRESS_LEN:
        raise ValueError(f"bad address {address!r}: at most {MAX_ADDRESS_LEN} ASCII characters")
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        raise ValueError(f"bad address {address!r}: expected host:port")
    if not _PORT_RE.fullmatch(port) or int(port) > 0xFFFF:
        raise ValueError(f"bad address {address!r}: the port must be 1 to 65535")
    if host.startswith("["):
        _check_ip(address, host[1:-1] if host.endswith("]") else "", version=6)
    elif host.replace(".", "").isdigit():
        _check_ip(address, host, version=4)
    else:
        labels = host.split(".")
        if len(host) > 253 or not all(_DNS_LABEL_RE.fullmatch(label) for label in labels):
            raise ValueError(f"bad address {address!r}: not a lower-case host name")
    return address


def _check_ip(address: str, literal: str, *, version: int) -> None:
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        raise ValueError(f"bad address {address!r}: not an IPv{version} address") from None
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.scope_id):
        # Their printed forms differ between Python versions, and a zone means nothing to the
        # other station: one spelling per address rules them out.
        raise ValueError(f"bad address {address!r}: no IPv4-mapped address or zone id")
    if ip.version != version or str(ip) != literal:
        raise ValueError(f"bad address {address!r}: write the IP address as {ip}")
