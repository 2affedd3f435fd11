"""Sign and verify a ``.hstmt`` file: a public statement with its signer's card (§9)."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.identity import Card, CardError, StationKeys
from hotline.record import MalformedError, Statement, StatementFile

from ._export import card_keys


@dataclass(frozen=True, slots=True)
class StatementReport:
    """What verifying a statement file found.

    Attributes:
        name: the signer's station name on the card, None if the card did not verify.
        fingerprint: the card's fingerprint (40 digits in groups of 5), None likewise.
        statement: the statement, None if the file did not decode.
        failures: one line per failure; empty if the statement is valid.
    """

    name: str | None
    fingerprint: str | None
    statement: Statement | None
    failures: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """Whether the card and both signatures verify and the statement names that card."""
        return self.statement is not None and not self.failures


def sign_statement(keys: StationKeys, card: Card, text: str, signed_at_ms: int) -> bytes:
    """Sign ``text`` as the station of ``card`` and return the ``.hstmt`` file.

    Raises:
        MalformedError: the text is empty or longer than 16,384 bytes of UTF-8.
        ValueError: ``keys`` are not the card's.
    """
    if keys.public != card.keys:
        raise ValueError("these keys are not the card's")
    signer = keys.signing_keys()
    statement = Statement.create(
        signer, fingerprint=card.fingerprint.digest, signed_at_ms=signed_at_ms, text=text
    )
    return StatementFile(card.encode(), statement).encode()


def verify_statement(data: bytes) -> StatementReport:
    """Verify a ``.hstmt`` file; never raises on any input.

    The card is checked (self-signatures), then the statement against it: the fingerprint it
    names must be the card's, and both signatures must verify, so one changed character fails.
    """
    try:
        decoded = StatementFile.decode(data)
    except MalformedError as exc:
        return StatementReport(None, None, None, (f"{exc.reason.name}: {exc}",))
    try:
        card = Card.decode(decoded.card)
    except CardError as exc:
        return StatementReport(None, None, decoded.statement, (f"CARD: {exc}",))
    statement = decoded.statement
    failures: tuple[str, ...] = ()
    if statement.fingerprint != card.fingerprint.digest:
        failures = ("CARD: the statement names another station than the card it carries",)
    elif not statement.verify(card_keys(card)):
        failures = ("BAD_SIGNATURE: the statement does not verify with the card it carries",)
    return StatementReport(card.name, str(card.fingerprint), statement, failures)
