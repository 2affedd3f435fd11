"""The clock rules of receipts and checkpoints, as pure functions of integer milliseconds.

The two stations' clocks are independent witnesses: neither is trusted, each brackets the
other. All times are UTC milliseconds; the skew bound ``B`` is ``CLOCK_SKEW_BOUND_MS`` unless a
station is configured otherwise, and the round-trip time is the one the session measures.
"""

from __future__ import annotations


def clock_agrees(their_ms: int, our_ms: int, skew_bound_ms: int, rtt_ms: int) -> bool:
    """Return whether the peer's time is within the skew bound plus the RTT of ours.

    A station co-signs a checkpoint only if this holds for the other side's time: the peer read
    its clock at most one round trip away from our reading, so honest clocks differ by at most
    the skew between them plus the RTT.

    Args:
        their_ms: the time the peer wrote (``proposed_at`` or ``cosigned_at``).
        our_ms: our clock when we received it.
        skew_bound_ms: the largest clock difference tolerated (≥ 0).
        rtt_ms: the measured round-trip time (≥ 0).

    Raises:
        ValueError: a negative bound or RTT (a bug in the caller).
    """
    if skew_bound_ms < 0 or rtt_ms < 0:
        raise ValueError("the skew bound and the RTT are not negative")
    return abs(their_ms - our_ms) <= skew_bound_ms + rtt_ms


def receipt_time_plausible(
    receipted_at_ms: int, sent_at_ms: int, received_at_ms: int, skew_bound_ms: int
) -> bool:
    """Return whether a receipt's time lies where an honest receiver's clock could read it.

    The receiver committed between our send and our reception of its receipt, so its clock read
    at least ``sent_at - B`` and at most ``received_at + B`` (docs/record-format.md §6).

    Args:
        receipted_at_ms: the receipt's ``receipted_at`` (the receiver's clock).
        sent_at_ms: when we first sent the receipted envelope (our clock).
        received_at_ms: when we received the receipt (our clock).
        skew_bound_ms: the largest clock difference tolerated (≥ 0).

    Raises:
        ValueError: a negative bound (a bug in the caller).
    """
    if skew_bound_ms < 0:
        raise ValueError("the skew bound is not negative")
    return sent_at_ms - skew_bound_ms <= receipted_at_ms <= received_at_ms + skew_bound_ms


def send_time_plausible(
    sequenced_at_ms: int, previous_ms: int | None, received_at_ms: int, skew_bound_ms: int
) -> bool:
    """Return whether an incoming envelope's ``sequenced_at`` could be its sender's honest
    clock: not after we received it, and not before the sender's previous envelope (its clock
    read that earlier), each within the bound (docs/record-format.md §8: the bracket the
    checkpoints then fix for good).

    Args:
        sequenced_at_ms: the envelope's ``sequenced_at`` (the sender's clock).
        previous_ms: the ``sequenced_at`` of the sender's envelope before it, if known.
        received_at_ms: when we received it (our clock).
        skew_bound_ms: the largest clock difference tolerated (≥ 0).

    Raises:
        ValueError: a negative bound (a bug in the caller).
    """
    if skew_bound_ms < 0:
        raise ValueError("the skew bound is not negative")
    if sequenced_at_ms > received_at_ms + skew_bound_ms:
        return False
    return previous_ms is None or sequenced_at_ms >= previous_ms - skew_bound_ms
