"""The errors of :mod:`hotline.identity`: each one line for the operator, each its own exit code.

The split follows what the operator must do next. A *wrong passphrase* means "type it again";
a *corrupted key file* means "restore from backup"; a card that fails its self-signature means
"ask for the card again, something changed it"; a fingerprint mismatch means "stop, this may not
be the station you think". Codes live in :class:`hotline.errors.ExitCode`.
"""

from __future__ import annotations

from hotline.errors import ExitCode, HotlineError


class IdentityError(HotlineError):
    """Base class of every error raised by :mod:`hotline.identity`."""


class WrongPassphraseError(IdentityError):
    """The passphrase does not open the key file (its AEAD tag did not verify)."""

    exit_code = ExitCode.WRONG_PASSPHRASE


class KeyFileCorruptError(IdentityError):
    """The key file is truncated, damaged, of an unknown format, or asks for absurd KDF work."""

    exit_code = ExitCode.KEY_FILE_CORRUPT


class PassphraseUnavailableError(IdentityError):
    """No usable passphrase: an empty one, an unreadable source, or a confirmation mismatch."""

    exit_code = ExitCode.PASSPHRASE_UNAVAILABLE


class CardError(IdentityError):
    """Base class of the refusals of a card."""


class CardFormatError(CardError):
    """The card (or its armour) is malformed: bad length, bad field, bad checksum, extra bytes."""

    exit_code = ExitCode.CARD_INVALID


class CardVersionError(CardError):
    """The card announces a version this implementation does not know."""

    exit_code = ExitCode.CARD_UNKNOWN_VERSION


class CardPostQuantumError(CardError):
    """The card lacks its ML-DSA-87 public key or signature, so it is not post-quantum safe."""

    exit_code = ExitCode.CARD_NO_POST_QUANTUM_KEY


class CardSignatureError(CardError):
    """One of the card's two self-signatures (Ed25519, ML-DSA-87) does not verify."""

    exit_code = ExitCode.CARD_BAD_SIGNATURE


class FingerprintMalformedError(IdentityError):
    """A typed fingerprint is not 40 decimal digits (after removing spaces and dashes)."""

    exit_code = ExitCode.FINGERPRINT_MALFORMED


class FingerprintMismatchError(IdentityError):
    """The fingerprint the operator was given is not the fingerprint of the card."""

    exit_code = ExitCode.FINGERPRINT_MISMATCH


class PeerConflictError(IdentityError):
    """Pairing would make two pins disagree: a name or a key already paired differently."""

    exit_code = ExitCode.PEER_CONFLICT


class PeerUnknownError(IdentityError):
    """No station of that name is paired."""

    exit_code = ExitCode.PEER_UNKNOWN


class PeersFileError(IdentityError):
    """``peers.json`` is malformed or its integrity tag does not verify (it was tampered with)."""

    exit_code = ExitCode.PEERS_FILE_INVALID
