"""Fingerprints: the code operators read to each other to verify a card.

A fingerprint names a station's *identity* (its name and three public keys) and not its
addresses, so an office can move without re-pairing. It is shown as 40 decimal digits in 8
groups of 5: digits survive a phone line in any language, and 40 of them carry 132.9 bits.

The digits are ``int(SHA-512(LABEL_FINGERPRINT || identity)) mod 10**40``, written with leading
zeros. Reducing a 512-bit integer modulo 10**40 is biased by less than 2**-379: nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Final

from hotline.constants import LABEL_FINGERPRINT

from ._codec import encode_vec
from ._constants import FINGERPRINT_DIGITS, FINGERPRINT_GROUP
from ._errors import FingerprintMalformedError, FingerprintMismatchError
from ._keys import PublicKeys

_SEPARATORS_RE: Final = re.compile(r"[\s-]+")
_DIGITS_RE: Final = re.compile(r"[0-9]+", re.ASCII)


def encode_identity(name: str, keys: PublicKeys) -> bytes:
    """Return the canonical encoding of a name and three public keys (docs/identity.md §card).

    This is the part of a card body after the version byte and before the addresses, and the
    input of the fingerprint.
    """
    return (
        encode_vec(name.encode("ascii"), 1)
        + encode_vec(keys.x25519, 2)
        + encode_vec(keys.ed25519, 2)
        + encode_vec(keys.mldsa87, 2)
    )


def format_fingerprint(digest: bytes) -> str:
    """Return the 40 digits of a fingerprint digest in groups of 5, separated by spaces."""
    code = f"{int.from_bytes(digest, 'big') % 10**FINGERPRINT_DIGITS:0{FINGERPRINT_DIGITS}d}"
    return " ".join(
        code[i : i + FINGERPRINT_GROUP] for i in range(0, FINGERPRINT_DIGITS, FINGERPRINT_GROUP)
    )


def parse_fingerprint(text: str) -> str:
    """Return the 40 digits of a fingerprint as typed, without separators.

    Spaces, tabs and dashes anywhere are ignored, so ``"12345 67890 ..."``,
    ``"12345-67890-..."`` and ``"1234567890..."`` are the same code.

    Raises:
        FingerprintMalformedError: anything but exactly 40 ASCII digits remains.
    """
    digits = _SEPARATORS_RE.sub("", text)
    if len(digits) != FINGERPRINT_DIGITS or not _DIGITS_RE.fullmatch(digits):
        raise FingerprintMalformedError(
            f"a fingerprint is {FINGERPRINT_DIGITS} digits (spaces and dashes allowed),"
            f" got {len(digits)} characters"
        )
    return digits


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The fingerprint of a station's identity.

    Attributes:
        digest: the full SHA-512 digest (64 bytes); line ids are computed over it.
    """

    digest: bytes

    @classmethod
    def of(cls, name: str, keys: PublicKeys) -> Fingerprint:
        """Return the fingerprint of ``name`` with ``keys``."""
        return cls(hashlib.sha512(LABEL_FINGERPRINT + encode_identity(name, keys)).digest())

    @property
    def code(self) -> str:
        """The 40 digits, ungrouped."""
        return str(self).replace(" ", "")

    def __str__(self) -> str:
        return format_fingerprint(self.digest)

    def check(self, typed: str) -> None:
        """Check a fingerprint the operator was given against this one, in constant time.

        Args:
            typed: the code as typed or passed on the command line (separators allowed).

        Raises:
            FingerprintMalformedError: ``typed`` is not a 40-digit code.
            FingerprintMismatchError: it is a code, but not this one.
        """
        given = parse_fingerprint(typed).encode("ascii")
        if not hmac.compare_digest(given, self.code.encode("ascii")):
            raise FingerprintMismatchError(
                "the fingerprint does not match this card: not paired"
                " (check the code with the other operator; the card may have been replaced)"
            )
