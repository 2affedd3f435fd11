"""First contact: the acceptor names the paired peer behind a msg1, or drops it for free."""

from __future__ import annotations

from hotline.constants import LENGTH_PREFIX_LEN, MSG1_LEN
from hotline.handshake import Initiator, PairedPeer, PeerTable
from hotline.session import (
    Acceptor,
    Connection,
    ConnectionState,
    Identified,
    Rejected,
    SessionConfig,
    with_length,
)

from ..handshake.stations import count_c_calls, line_id, make_station, pair

NOW = 1_750_000_000.0
ALICE, BOB, CAROL, MALLORY = (make_station(n) for n in (1, 2, 4, 3))


def bob_table() -> PeerTable:
    return PeerTable(PairedPeer.derive(BOB.creds, s.keys, line_id(s, BOB)) for s in (ALICE, CAROL))


def test_a_paired_peer_is_identified_byte_by_byte() -> None:
    table = bob_table()
    acceptor = Acceptor(table)
    wire = with_length(Initiator(CAROL.creds, pair(CAROL, BOB)[0]).start(NOW, 0)) + b"extra"
    results = [acceptor.receive_data(wire[i : i + 1]) for i in range(LENGTH_PREFIX_LEN + MSG1_LEN)]
    assert results[:-1] == [None] * (len(results) - 1)
    verdict = results[-1]
    assert isinstance(verdict, Identified)
    assert verdict.peer.keys == CAROL.keys
    assert verdict.data == wire[: LENGTH_PREFIX_LEN + MSG1_LEN]


def test_the_identified_peer_gets_a_working_connection() -> None:
    to_bob, _ = pair(ALICE, BOB)
    alice = Connection.connect(SessionConfig(ALICE.creds, to_bob), NOW)
    verdict = Acceptor(bob_table()).receive_data(alice.data_to_send())
    assert isinstance(verdict, Identified)
    bob = Connection.accept(SessionConfig(BOB.creds, verdict.peer), NOW)
    bob.receive_data(verdict.data, NOW)
    alice.receive_data(bob.data_to_send(), NOW)
    bob.receive_data(alice.data_to_send(), NOW)
    alice.receive_data(bob.data_to_send(), NOW)
    assert alice.state is bob.state is ConnectionState.ESTABLISHED


def test_an_unpaired_initiator_costs_no_dh_and_leaves_nothing() -> None:
    acceptor = Acceptor(bob_table())
    wire = with_length(Initiator(MALLORY.creds, pair(MALLORY, BOB)[0]).start(NOW, 0))
    with count_c_calls("exchange", "encapsulate", "decapsulate", "sign", "verify") as calls:
        verdict = acceptor.receive_data(wire)
    assert isinstance(verdict, Rejected)
    assert sum(calls.values()) == 0
    assert repr(acceptor) == "Acceptor(0 bytes)"


def test_a_wrong_first_length_is_rejected_on_its_prefix() -> None:
    acceptor = Acceptor(bob_table())
    assert isinstance(acceptor.receive_data(b"\x00\x10"), Rejected)
    assert repr(acceptor) == "Acceptor(0 bytes)"


def test_an_acceptor_buffers_at_most_one_msg1() -> None:
    acceptor = Acceptor(bob_table())
    assert acceptor.receive_data(MSG1_LEN.to_bytes(2, "big") + bytes(MSG1_LEN - 1)) is None
    assert repr(acceptor) == f"Acceptor({LENGTH_PREFIX_LEN + MSG1_LEN - 1} bytes)"
    assert isinstance(acceptor.receive_data(bytes(10_000)), Rejected)  # zeros: no mac1 matches
    assert repr(acceptor) == "Acceptor(0 bytes)"
