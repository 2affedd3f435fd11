"""Text armour for cards: PEM-like lines that survive e-mail, chat and copy-paste.

Written form (docs/identity.md §3)::

    -----BEGIN HOTLINE CARD-----
    <standard base64 of the card, 64 characters a line>
    =<8 base32 characters: the first 5 bytes of SHA-256(card)>
    -----END HOTLINE CARD-----

Reading is tolerant of what transports do to *layout* and strict about *content*: line ends
(CR LF, CR), indentation, trailing blanks, quote prefixes (``> ``, ``>> ``) and re-wrapped
lines are all accepted, and text around the armour is ignored; but the base64 must be canonical,
the checksum must match, and there must be exactly one armoured block.

The layout rules are exact, so a second implementation reads the same texts: lines end at
CR LF, CR or LF only (not at the other Unicode line breaks ``str.splitlines`` knows, such as
VT, FF, NEL or U+2028), and the *blanks* are space, tab and no-break space (U+00A0, which mail
clients write in quoted and indented text) only, not every Unicode space.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Final

from ._constants import (
    ARMOUR_BEGIN,
    ARMOUR_CHECKSUM_LEN,
    ARMOUR_END,
    ARMOUR_LINE_LEN,
    MAX_ARMOUR_TEXT_LEN,
)
from ._errors import CardFormatError

#: The only line ends: CR LF, CR, LF (docs/identity.md §4).
_LINE_END_RE: Final = re.compile(r"\r\n|\r|\n")
#: Space, tab and no-break space: what transports add to, or turn spaces into, in a line.
_BLANKS: Final = " \t\u00a0"
#: Quote prefixes and indentation: any run of blanks and ``>`` at the start of a line.
#: Neither can occur inside base64, so stripping them never removes card data.
_PREFIX_RE: Final = re.compile(f"^[{_BLANKS}>]*")
_BLANKS_RE: Final = re.compile(f"[{_BLANKS}]+")
#: The armour body once joined: base64 (with its padding), then ``=`` and the checksum. Base32
#: has no ``=``, so the checksum starts after the *last* ``=`` and the split is unambiguous.
_BODY_RE: Final = re.compile(r"(?P<data>[A-Za-z0-9+/]*={0,2})=(?P<checksum>[A-Z2-7]{8})")


def _checksum(data: bytes) -> str:
    return base64.b32encode(hashlib.sha256(data).digest()[:ARMOUR_CHECKSUM_LEN]).decode("ascii")


def armour(data: bytes) -> str:
    """Return ``data`` (an encoded card) as armoured text ending with a newline."""
    encoded = base64.b64encode(data).decode("ascii")
    lines = [encoded[i : i + ARMOUR_LINE_LEN] for i in range(0, len(encoded), ARMOUR_LINE_LEN)]
    return "\n".join([ARMOUR_BEGIN, *lines, "=" + _checksum(data), ARMOUR_END]) + "\n"


def dearmour(text: str) -> bytes:
    """Return the bytes inside the one armoured block in ``text``.

    Raises:
        CardFormatError: text too long, no block or more than one, bad base64, bad checksum.
    """
    if len(text) > MAX_ARMOUR_TEXT_LEN:
        raise CardFormatError(f"not a card: more than {MAX_ARMOUR_TEXT_LEN} characters of text")
    lines = [_PREFIX_RE.sub("", line).rstrip(_BLANKS) for line in _LINE_END_RE.split(text)]
    begins = [i for i, line in enumerate(lines) if line == ARMOUR_BEGIN]
    ends = [i for i, line in enumerate(lines) if line == ARMOUR_END]
    if not begins or not ends:
        raise CardFormatError(f"not a card: no {ARMOUR_BEGIN} ... {ARMOUR_END} block found")
    if len(begins) > 1 or len(ends) > 1 or ends[0] < begins[0]:
        raise CardFormatError("not a card: expected exactly one armoured card in the text")
    joined = _BLANKS_RE.sub("", "".join(lines[begins[0] + 1 : ends[0]]))
    match = _BODY_RE.fullmatch(joined)
    if match is None:
        raise CardFormatError("damaged card: the armour is not base64 followed by a checksum line")
    try:
        data = base64.b64decode(match["data"], validate=True)
    except binascii.Error:
        raise CardFormatError("damaged card: the armour is not valid base64") from None
    if base64.b64encode(data).decode("ascii") != match["data"]:
        raise CardFormatError("damaged card: the armour is not canonical base64")
    if match["checksum"] != _checksum(data):
        raise CardFormatError(
            "damaged card: the armour checksum does not match (the text was changed in transit)"
        )
    return data
