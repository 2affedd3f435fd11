"""The four-flight Hotline handshake: success both ways, and every way it must refuse."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa
from hypothesis import given, settings
from hypothesis import strategies as st

import hotline.signatures
from hotline.constants import (
    LABEL_CARD,
    LABEL_HANDSHAKE_PROOF,
    LABEL_MSG1_DIGEST,
    MSG1_LEN,
    NOISE_MSG1_LEN,
)
from hotline.handshake import (
    Established,
    Initiator,
    KatHooks,
    LocalProtocolError,
    PairedPeer,
    PeerKeys,
    PeerTable,
    ProofError,
    RemoteProtocolError,
    ReplayError,
    Responder,
    Role,
    Stage,
    UnknownPeerError,
    proof_message,
)
from hotline.handshake import _handshake as handshake_module
from hotline.handshake import _proof as proof_module
from hotline.noise import DecryptError

from .stations import CountingKem, Station, count_c_calls, line_id, make_station, pair

NOW = 1_750_000_000.0
ALICE, BOB, MALLORY = make_station(1), make_station(2), make_station(3)


def start(a: Station, b: Station, *, last_accepted: int = 0) -> tuple[Initiator, Responder]:
    to_b, to_a = pair(a, b)
    return Initiator(a.creds, to_b), Responder(b.creds, to_a, last_accepted=last_accepted)


def run(initiator: Initiator, responder: Responder) -> tuple[Established, Established]:
    msg2 = responder.receive_msg1(initiator.start(NOW, 0), NOW)
    proof_r, resp_session = responder.receive_proof(initiator.receive_msg2(msg2))
    return initiator.receive_proof(proof_r), resp_session


# --- Success ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(ALICE, BOB), (BOB, ALICE)], ids=["alice-bob", "bob-alice"])
def test_handshake_and_proofs_both_ways(a: Station, b: Station) -> None:
    initiator, responder = start(a, b)
    init_session, resp_session = run(initiator, responder)
    assert initiator.stage is Stage.DONE and responder.stage is Stage.DONE
    assert init_session.handshake_hash == resp_session.handshake_hash
    assert len(init_session.handshake_hash) == 64
    assert (init_session.role, resp_session.role) == (Role.INITIATOR, Role.RESPONDER)
    assert init_session.timestamp == resp_session.timestamp == initiator.timestamp
    assert responder.timestamp == initiator.timestamp == int(NOW * 1000)
    # The proofs used nonce 0 each way; the session continues at nonce 1.
    message = init_session.transport.send.encrypt_with_ad(b"", b"over")
    assert resp_session.transport.receive.decrypt_with_ad(b"", message) == b"over"
    reply = resp_session.transport.send.encrypt_with_ad(b"", b"out")
    assert init_session.transport.receive.decrypt_with_ad(b"", reply) == b"out"
    assert init_session.transport.send.nonce == 2


def test_every_handshake_has_fresh_keys() -> None:
    first, _ = run(*start(ALICE, BOB))
    second, _ = run(*start(ALICE, BOB))
    assert first.handshake_hash != second.handshake_hash


# --- Identity ----------------------------------------------------------------------------------


def _pin(station: Station, **changes: object) -> PeerKeys:
    return dataclasses.replace(station.keys, **changes)


WRONG_ED = ed25519.Ed25519PrivateKey.generate().public_key()
WRONG_ML = mldsa.MLDSA87PrivateKey.generate().public_key()


@pytest.mark.parametrize("change", [{"ed25519": WRONG_ED}, {"mldsa": WRONG_ML}], ids=["ed", "ml"])
def test_initiator_refuses_a_responder_proof_under_another_key(change: dict[str, object]) -> None:
    line = line_id(ALICE, BOB)
    initiator = Initiator(ALICE.creds, PairedPeer.derive(ALICE.creds, _pin(BOB, **change), line))
    responder = Responder(
        BOB.creds, PairedPeer.derive(BOB.creds, ALICE.keys, line), last_accepted=0
    )
    proof_i = initiator.receive_msg2(responder.receive_msg1(initiator.start(NOW, 0), NOW))
    proof_r, _ = responder.receive_proof(proof_i)
    with pytest.raises(ProofError):
        initiator.receive_proof(proof_r)
    assert initiator.stage is Stage.ERROR


@pytest.mark.parametrize("change", [{"ed25519": WRONG_ED}, {"mldsa": WRONG_ML}], ids=["ed", "ml"])
def test_responder_refuses_an_initiator_proof_without_signing(change: dict[str, object]) -> None:
    line = line_id(ALICE, BOB)
    initiator = Initiator(ALICE.creds, PairedPeer.derive(ALICE.creds, BOB.keys, line))
    responder = Responder(
        BOB.creds, PairedPeer.derive(BOB.creds, _pin(ALICE, **change), line), last_accepted=0
    )
    proof_i = initiator.receive_msg2(responder.receive_msg1(initiator.start(NOW, 0), NOW))
    with count_c_calls("sign") as calls, pytest.raises(ProofError):
        responder.receive_proof(proof_i)
    assert calls["sign"] == 0  # an unproven initiator never costs us a signature
    assert responder.stage is Stage.ERROR


def test_a_stolen_static_key_without_the_signing_keys_is_refused() -> None:
    """A forged identity: Mallory holds Alice's X25519 key (as a quantum attacker would) but
    signs with her own keys. Noise completes; the post-quantum proof does not."""
    forger = Station(dataclasses.replace(MALLORY.creds, static=ALICE.creds.static), ALICE.keys)
    initiator, responder = start(forger, BOB)
    proof_i = initiator.receive_msg2(responder.receive_msg1(initiator.start(NOW, 0), NOW))
    with pytest.raises(ProofError):
        responder.receive_proof(proof_i)


def test_a_peer_pinned_with_another_static_key_is_unknown() -> None:
    line = line_id(ALICE, BOB)
    initiator = Initiator(ALICE.creds, PairedPeer.derive(ALICE.creds, BOB.keys, line))
    responder = Responder(
        BOB.creds, PairedPeer.derive(BOB.creds, MALLORY.keys, line), last_accepted=0
    )
    with pytest.raises(UnknownPeerError):
        responder.receive_msg1(initiator.start(NOW, 0), NOW)
    assert responder.stage is Stage.ERROR


def _bad_signer(role: Role | None = None, label: bytes | None = None, ed_only: bool = False):
    """A stand-in for ``sign_proof`` that gets one thing wrong."""

    def sign(local, actual_role, line, h):  # type: ignore[no-untyped-def]
        m = proof_message(role or actual_role, line, h)
        ed_label = LABEL_HANDSHAKE_PROOF if label is None else label
        ml_label = LABEL_HANDSHAKE_PROOF if ed_only else ed_label
        return b"\x01\x08" + local.ed25519.sign(ed_label + m) + local.mldsa.sign(m, ml_label)

    return sign


@pytest.mark.parametrize(
    "signer",
    [
        _bad_signer(role=Role.RESPONDER),
        _bad_signer(label=LABEL_CARD),
        _bad_signer(label=LABEL_CARD, ed_only=True),
        _bad_signer(label=b""),
    ],
    ids=["wrong-role", "wrong-label", "wrong-ed-label-only", "no-label"],
)
def test_a_proof_with_the_wrong_role_or_label_is_refused(
    monkeypatch: pytest.MonkeyPatch, signer: Callable[..., bytes]
) -> None:
    initiator, responder = start(ALICE, BOB)
    msg2 = responder.receive_msg1(initiator.start(NOW, 0), NOW)
    monkeypatch.setattr(handshake_module, "sign_proof", signer)
    proof_i = initiator.receive_msg2(msg2)
    monkeypatch.undo()
    with pytest.raises(ProofError):
        responder.receive_proof(proof_i)


def test_the_correct_signer_passes_the_same_harness(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in signer, with nothing wrong, is accepted: the refusals above are real."""
    initiator, responder = start(ALICE, BOB)
    msg2 = responder.receive_msg1(initiator.start(NOW, 0), NOW)
    monkeypatch.setattr(handshake_module, "sign_proof", _bad_signer())
    proof_i = initiator.receive_msg2(msg2)
    monkeypatch.undo()
    responder.receive_proof(proof_i)
    assert responder.stage is Stage.DONE


def test_proofs_are_the_shared_hybrid_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """One implementation of "Ed25519 and ML-DSA-87, both must verify": hotline.signatures."""
    calls: list[tuple[str, bytes]] = []

    def spy(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object) -> object:
            calls.append((name, args[2]))  # type: ignore[arg-type]
            return real(*args)

        return call

    monkeypatch.setattr(proof_module, "sign", spy("sign", hotline.signatures.sign))
    monkeypatch.setattr(proof_module, "verify", spy("verify", hotline.signatures.verify))
    initiator, responder = start(ALICE, BOB)
    msg2 = responder.receive_msg1(initiator.start(NOW, 0), NOW)
    proof_i = initiator.receive_msg2(msg2)
    proof_r, _ = responder.receive_proof(proof_i)
    initiator.receive_proof(proof_r)
    signs, verifies = [("sign", LABEL_HANDSHAKE_PROOF)] * 2, [("verify", LABEL_HANDSHAKE_PROOF)] * 2
    assert sorted(calls) == signs + verifies


def test_the_proof_body_is_the_hybrid_signature_encoding() -> None:
    """PROOF = header || HybridSignature.encode(): readable by hotline.signatures as it is."""
    line, h = line_id(ALICE, BOB), bytes(range(64))
    frame = proof_module.sign_proof(ALICE.creds, Role.INITIATOR, line, h)
    assert frame[:2] == b"\x01\x08" and len(frame) == 2 + 64 + 4627
    signature = hotline.signatures.HybridSignature.decode(frame[2:])
    m = proof_message(Role.INITIATOR, line, h)
    keys = hotline.signatures.VerifyKeys(ALICE.keys.ed25519, ALICE.keys.mldsa)
    assert keys.verify(LABEL_HANDSHAKE_PROOF, m, signature)
    assert not keys.verify(LABEL_CARD, m, signature)


def test_application_data_in_place_of_a_proof_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    initiator, responder = start(ALICE, BOB)
    msg2 = responder.receive_msg1(initiator.start(NOW, 0), NOW)
    data_frame = b"\x01\x02" + bytes(64 + 4627)  # a DATA frame of a proof's exact size
    monkeypatch.setattr(handshake_module, "sign_proof", lambda *args: data_frame)
    proof_i = initiator.receive_msg2(msg2)
    monkeypatch.undo()
    with pytest.raises(ProofError):
        responder.receive_proof(proof_i)
    assert responder.stage is Stage.ERROR


# --- mac1 and the peer table -------------------------------------------------------------------


def test_the_table_identifies_each_paired_peer() -> None:
    bob_view = [PairedPeer.derive(BOB.creds, s.keys, line_id(s, BOB)) for s in (ALICE, MALLORY)]
    table = PeerTable(bob_view)
    for station, entry in zip((ALICE, MALLORY), bob_view, strict=True):
        to_bob = PairedPeer.derive(station.creds, BOB.keys, line_id(station, BOB))
        assert table.identify(Initiator(station.creds, to_bob).start(NOW, 0)) is entry


def test_an_unpaired_initiator_is_rejected_with_no_dh_and_no_state() -> None:
    table = PeerTable([pair(ALICE, BOB)[1]])  # Bob knows Alice only
    msg1 = Initiator(MALLORY.creds, pair(MALLORY, BOB)[0]).start(NOW, 0)
    before = repr(table), len(table)
    with count_c_calls("exchange", "encapsulate", "decapsulate", "sign") as calls:
        assert table.identify(msg1) is None
    assert sum(calls.values()) == 0
    assert (repr(table), len(table)) == before
    assert PeerTable.__slots__ == ("_entries",)  # nothing to remember a caller by


def test_a_refusal_hashes_msg1_once_and_keys_no_hmac_per_peer() -> None:
    """mac1 authenticates a digest of msg1: one SHA-512 over the 1640 bytes per lookup, then a
    copy of each peer's precomputed HMAC state over 64 bytes. No HMAC is keyed per lookup."""
    peers = [make_station(100 + n) for n in range(16)]
    table = PeerTable([PairedPeer.derive(BOB.creds, s.keys, line_id(s, BOB)) for s in peers])
    msg1 = Initiator(MALLORY.creds, pair(MALLORY, BOB)[0]).start(NOW, 0)
    with count_c_calls("openssl_sha512", "hmac_new", "hmac_digest", "copy") as calls:
        assert table.identify(msg1) is None
    assert calls == {"openssl_sha512": 1, "copy": 16}


def test_mac1_is_an_hmac_of_the_labelled_msg1_digest() -> None:
    """docs/protocol.md §2.3, written out with hashlib and hmac."""
    from hotline.handshake import mac1

    to_bob, _ = pair(ALICE, BOB)
    noise_msg1 = Initiator(ALICE.creds, to_bob).start(NOW, 0)[:NOISE_MSG1_LEN]
    digest = hashlib.sha512(LABEL_MSG1_DIGEST + noise_msg1).digest()
    expected = hmac.new(to_bob.mac1_send, digest, hashlib.sha512).digest()[:32]
    assert mac1(to_bob.mac1_send, noise_msg1) == expected
    assert to_bob.seal_msg1(noise_msg1) == noise_msg1 + expected


def test_a_forged_mac1_is_rejected() -> None:
    table = PeerTable([pair(ALICE, BOB)[1]])
    genuine = Initiator(ALICE.creds, pair(ALICE, BOB)[0]).start(NOW, 0)
    assert table.identify(genuine) is not None
    for forged in (
        genuine[:NOISE_MSG1_LEN] + bytes(32),
        genuine[:-1] + bytes([genuine[-1] ^ 1]),
        bytes([genuine[0] ^ 1]) + genuine[1:],  # the mac covers the Noise message
        genuine[:-1],
        genuine + b"\x00",
    ):
        assert table.identify(forged) is None


def test_mac1_from_public_keys_alone_is_rejected() -> None:
    """WireGuard keys mac1 by the responder's public key; anyone with the cards could do that.
    Ours needs a static private key: Mallory, knowing both cards, cannot make one."""
    from hotline.handshake import mac1, mac1_key

    table = PeerTable([pair(ALICE, BOB)[1]])
    genuine = Initiator(ALICE.creds, pair(ALICE, BOB)[0]).start(NOW, 0)
    public_guess = mac1_key(BOB.keys.static, line_id(ALICE, BOB), ALICE.keys.static)
    forged = genuine[:NOISE_MSG1_LEN] + mac1(public_guess, genuine[:NOISE_MSG1_LEN])
    assert table.identify(forged) is None


def test_a_reflected_msg1_is_rejected() -> None:
    """Alice's own msg1 sent back to her: the mac1 key of the other direction does not match."""
    to_bob, _ = pair(ALICE, BOB)
    msg1 = Initiator(ALICE.creds, to_bob).start(NOW, 0)
    assert not to_bob.sent_msg1(msg1)


def test_a_wrong_line_id_fails_at_mac1() -> None:
    initiator = Initiator(ALICE.creds, PairedPeer.derive(ALICE.creds, BOB.keys, bytes(64)))
    responder = Responder(BOB.creds, pair(ALICE, BOB)[1], last_accepted=0)
    with pytest.raises(UnknownPeerError):
        responder.receive_msg1(initiator.start(NOW, 0), NOW)


def test_the_prologue_binds_the_line_id_beyond_mac1() -> None:
    """Same mac1 keys, different line id in the prologue: Noise itself refuses."""
    to_bob, to_alice = pair(ALICE, BOB)
    initiator = Initiator(ALICE.creds, to_bob)
    elsewhere = dataclasses.replace(to_alice, line_id=bytes(64))
    responder = Responder(BOB.creds, elsewhere, last_accepted=0)
    with pytest.raises(DecryptError):
        responder.receive_msg1(initiator.start(NOW, 0), NOW)


def test_the_table_refuses_duplicate_peers() -> None:
    entry = pair(ALICE, BOB)[1]
    with pytest.raises(LocalProtocolError):
        PeerTable([entry, entry])


def test_a_station_cannot_pair_with_itself() -> None:
    with pytest.raises(LocalProtocolError):
        PairedPeer.derive(ALICE.creds, ALICE.keys, bytes(64))


#: X25519 public keys of small order (RFC 7748 §6.1 / the libsodium blocklist): the DH with
#: any private key is all zero, so pyca refuses it.
LOW_ORDER_POINTS = [
    bytes(32),
    b"\x01" + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=[p.hex()[:8] for p in LOW_ORDER_POINTS])
def test_a_low_order_static_key_is_refused_at_pairing(point: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="usable X25519"):
        PairedPeer.derive(ALICE.creds, dataclasses.replace(BOB.keys, static=point), bytes(64))


# --- Replay ------------------------------------------------------------------------------------


def test_a_replayed_msg1_is_dropped_before_any_kem_work() -> None:
    to_bob, to_alice = pair(ALICE, BOB)
    msg1 = Initiator(ALICE.creds, to_bob).start(NOW, 0)
    first = Responder(BOB.creds, to_alice, last_accepted=0)
    first.receive_msg1(msg1, NOW)
    kem = CountingKem()
    replay = Responder(BOB.creds, to_alice, last_accepted=first.timestamp, hooks=KatHooks(kem=kem))
    with (
        count_c_calls("exchange", "public_key", "encapsulate") as calls,
        pytest.raises(ReplayError),
    ):
        replay.receive_msg1(msg1, NOW)
    assert kem.calls.total() == 0
    assert calls["encapsulate"] == 0
    # docs/protocol.md §2.6: three X25519 operations. The Noise core derives our static public
    # key from the raw private key again, then es and ss decrypt the timestamp.
    assert (calls["public_key"], calls["exchange"]) == (1, 2)
    assert replay.stage is Stage.ERROR


def test_the_kem_counter_sees_a_normal_handshake() -> None:
    """The counting hook is live: an accepted msg1 costs exactly one encapsulation."""
    to_bob, to_alice = pair(ALICE, BOB)
    kem = CountingKem()
    responder = Responder(BOB.creds, to_alice, last_accepted=0, hooks=KatHooks(kem=kem))
    responder.receive_msg1(Initiator(ALICE.creds, to_bob).start(NOW, 0), NOW)
    assert kem.calls == {"encapsulate": 1}


@pytest.mark.parametrize("offset", [0, 1, 10**6])
def test_an_older_or_equal_timestamp_is_a_replay(offset: int) -> None:
    initiator, _ = start(ALICE, BOB)
    msg1 = initiator.start(NOW, 0)
    responder = Responder(
        BOB.creds, pair(ALICE, BOB)[1], last_accepted=initiator.timestamp + offset
    )
    with pytest.raises(ReplayError):
        responder.receive_msg1(msg1, NOW)


def test_timestamps_keep_rising_when_the_clock_steps_back() -> None:
    initiator = Initiator(ALICE.creds, pair(ALICE, BOB)[0])
    initiator.start(NOW - 3600, last_sent=int(NOW * 1000))
    assert initiator.timestamp == int(NOW * 1000) + 1


# --- Corruption ------------------------------------------------------------------------------


def _corrupted_run(flight: int, bit: int) -> tuple[Initiator, Responder, Exception | None]:
    """Run a handshake with one bit flipped in flight ``flight`` (0..3)."""
    initiator, responder = start(ALICE, BOB)

    def flip(message: bytes, index: int) -> bytes:
        if index != flight:
            return message
        position = bit % (len(message) * 8)
        return bytes(
            b ^ (1 << (position % 8)) if i == position // 8 else b for i, b in enumerate(message)
        )

    try:
        msg2 = responder.receive_msg1(flip(initiator.start(NOW, 0), 0), NOW)
        proof_i = initiator.receive_msg2(flip(msg2, 1))
        proof_r, _ = responder.receive_proof(flip(proof_i, 2))
        initiator.receive_proof(flip(proof_r, 3))
    except RemoteProtocolError as exc:
        return initiator, responder, exc
    return initiator, responder, None


FLIGHT_SIZES = (MSG1_LEN, 1632, 4709, 4709)


@pytest.mark.parametrize("flight", range(4))
@pytest.mark.parametrize("where", ["first", "last", "middle"])
def test_a_flipped_bit_fails_the_handshake(flight: int, where: str) -> None:
    bits = FLIGHT_SIZES[flight] * 8
    bit = {"first": 0, "last": bits - 1, "middle": bits // 2}[where]
    initiator, responder, error = _corrupted_run(flight, bit)
    assert error is not None
    receiver = responder if flight % 2 == 0 else initiator
    assert receiver.stage is Stage.ERROR
    assert Stage.DONE not in (initiator.stage, responder.stage) or flight == 3
    if flight == 3:  # the responder finished honestly; the initiator refused its proof
        assert initiator.stage is Stage.ERROR


@settings(max_examples=40)
@given(flight=st.integers(0, 3), bit=st.integers(0, 8 * 4709 - 1))
def test_a_flipped_bit_anywhere_fails_the_handshake(flight: int, bit: int) -> None:
    initiator, responder, error = _corrupted_run(flight, bit)
    assert error is not None
    assert Stage.ERROR in (initiator.stage, responder.stage)
    assert initiator.stage is not Stage.DONE


# --- Misuse ----------------------------------------------------------------------------------


def test_a_step_out_of_turn_is_a_local_error() -> None:
    initiator, responder = start(ALICE, BOB)
    with pytest.raises(LocalProtocolError):
        initiator.receive_msg2(bytes(1632))
    assert initiator.stage is Stage.ERROR
    with pytest.raises(LocalProtocolError):
        initiator.start(NOW, 0)  # ERROR is final
    with pytest.raises(LocalProtocolError):
        responder.receive_proof(bytes(4709))


def test_secrets_stay_out_of_reprs() -> None:
    to_bob, _ = pair(ALICE, BOB)
    session, _ = run(*start(ALICE, BOB))
    secret_hexes = [
        ALICE.creds.static.private_bytes_raw().hex(),
        ALICE.creds.ed25519.private_bytes_raw().hex(),
        to_bob.mac1_send.hex(),
        to_bob.mac1_receive.hex(),
    ]
    text = " ".join(
        repr(x)
        for x in (ALICE.creds, to_bob, session, KatHooks(ephemeral=bytes(32)), start(ALICE, BOB))
    )
    for secret in secret_hexes:
        assert secret not in text and secret[:16] not in text


def test_a_flipped_transport_bit_is_refused_without_advancing_the_nonce() -> None:
    init_session, resp_session = run(*start(ALICE, BOB))
    message = init_session.transport.send.encrypt_with_ad(b"", b"after the proofs")
    receive = resp_session.transport.receive
    before = receive.nonce
    for position in (0, len(message) // 2, len(message) - 1):
        flipped = message[:position] + bytes([message[position] ^ 0x80]) + message[position + 1 :]
        with pytest.raises(DecryptError):
            receive.decrypt_with_ad(b"", flipped)
        assert receive.nonce == before
    assert receive.decrypt_with_ad(b"", message) == b"after the proofs"
