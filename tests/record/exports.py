"""Two stations with real cards, a two-way record between them, and its export.

The signing keys are those of :mod:`tests.record.helpers` (fixed seeds); each station gets a card
so the line id and the directions follow from the fingerprints, as in a real line.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.identity import Card, StationKeys, line_id
from hotline.record import (
    GENESIS,
    AckBody,
    ChainHead,
    ChainWriter,
    Checkpoint,
    CheckpointBody,
    Direction,
    Envelope,
    ExportRange,
    Kind,
    Precedence,
    Receipt,
    Span,
    encode_export,
)

from .helpers import T0, Station, fixed, message, signing_keys


def station_keys(name: str) -> StationKeys:
    signing = signing_keys(name)
    return StationKeys.from_private_bytes(
        fixed(f"{name} x25519", 32),
        signing.ed25519.private_bytes_raw(),
        fixed(f"{name} mldsa87", 32),
    )


def _card(name: str) -> Card:
    return Card.create(station_keys(name), name, (f"{name}.example:7401",))


_CARDS = sorted((_card("alpha"), _card("bravo")), key=lambda card: card.fingerprint.digest)
#: The cards of direction 0 and 1.
CARDS: tuple[Card, Card] = (_CARDS[0], _CARDS[1])
LINE = line_id(*CARDS)
STATIONS: tuple[Station, Station] = tuple(  # type: ignore[assignment]
    Station(card.name, signing_keys(card.name), signing_keys(card.name).public(), direction)
    for card, direction in zip(CARDS, Direction, strict=True)
)


@dataclass
class Record:
    """Both directions of a line, with every head, receipt and checkpoint signed."""

    envelopes: list[Envelope]
    heads: list[ChainHead]
    receipts: list[Receipt]
    checkpoints: list[Checkpoint]

    def chain(self, direction: Direction) -> list[Envelope]:
        return [e for e in self.envelopes if e.header.direction is direction]

    def export(
        self, spans: tuple[tuple[int, int], tuple[int, int]] | None = None, *, redact: bool = False
    ) -> bytes:
        """The export of ``spans`` (default: everything), bodies removed if ``redact``."""
        if spans is None:
            spans = ((1, len(self.chain(Direction.FIRST))), (1, len(self.chain(Direction.SECOND))))
        export_range = ExportRange(LINE, (Span(*spans[0]), Span(*spans[1])))
        return encode_export(
            (CARDS[0].encode(), CARDS[1].encode()),
            export_range,
            [e.redacted() if redact else e for e in self.envelopes],
            self.heads,
            receipts=self.receipts,
            checkpoints=self.checkpoints,
        )


def conversation(count: int = 3) -> Record:
    """``count`` rounds: direction 0 sends a message, direction 1 acknowledges it.

    Every envelope gets its head; each side receipts what it received; one checkpoint at the end.
    """
    writers = [ChainWriter(LINE, d) for d in Direction]
    envelopes: list[Envelope] = []
    heads: list[ChainHead] = []
    receipts: list[Receipt] = []
    now = T0
    crosses = [GENESIS, GENESIS]
    for i in range(count):
        for direction in Direction:
            now += 10
            writer = writers[direction]
            cross = crosses[direction]
            if direction is Direction.FIRST:
                body: object = message(f"message {i} \u202egnp.exe", i)
                kind = Kind.MESSAGE
            else:
                body = AckBody(cross, "duty officer", f"ack {i}", fixed(f"ack salt {i}", 32))
                kind = Kind.ACK
            envelope = writer.append(
                body,  # type: ignore[arg-type]
                kind=kind,
                precedence=Precedence.FLASH,
                queued_at_ms=now - 5,
                sequenced_at_ms=now,
                cross=cross,
            )
            envelopes.append(envelope)
            heads.append(writer.sign_head(STATIONS[direction].keys, now + 1))
            receiver = direction.other
            crosses[receiver] = envelope.header.ref
            receipts.append(
                Receipt.create(
                    STATIONS[receiver].keys,
                    line_id=LINE,
                    direction=direction,
                    received=envelope.header.ref,
                    receipted_at_ms=now + 3,
                    own=writers[receiver].tip,
                )
            )
    body_ = CheckpointBody(
        LINE, Direction.FIRST, 1, (writers[0].tip, writers[1].tip), now + 10, now + 12
    )
    signatures = (body_.sign(STATIONS[0].keys), body_.sign(STATIONS[1].keys))
    return Record(envelopes, heads, receipts, [Checkpoint(body_, signatures)])
