"""Property tests: any supported protocol round-trips any payloads between two HandshakeStates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotline.noise import DecryptError, NoiseProtocol

from .helpers import make_pair, run_handshake

INTERACTIVE = ["NN", "NK", "NX", "KN", "KK", "KX", "XN", "XK", "XX", "IN", "IK", "IX"]
MESSAGE_COUNT = {name: (3 if name[0] == "X" else 2) for name in INTERACTIVE}
MESSAGE_COUNT |= {"N": 1, "K": 1, "X": 1}

payloads = st.binary(max_size=300)


@st.composite
def protocol_names(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(sorted(MESSAGE_COUNT)))
    positions = draw(st.sets(st.integers(0, MESSAGE_COUNT[base]), max_size=3))
    modifiers = [f"psk{n}" for n in sorted(positions)]
    dh = draw(st.sampled_from(["25519", "448"]))
    if base in INTERACTIVE and draw(st.booleans()):
        modifiers.append("hfs")
        dh += "+" + draw(st.sampled_from(["MLKEM768", "MLKEM1024"]))
    cipher = draw(st.sampled_from(["ChaChaPoly", "AESGCM"]))
    hash_name = draw(st.sampled_from(["SHA256", "SHA512", "BLAKE2s", "BLAKE2b"]))
    return f"Noise_{base}{'+'.join(modifiers)}_{dh}_{cipher}_{hash_name}"


@given(protocol_names(), st.lists(payloads, min_size=3, max_size=3), st.lists(payloads))
def test_round_trip(name: str, handshake_payloads: list[bytes], transport: list[bytes]) -> None:
    initiator, responder = make_pair(name)
    messages = run_handshake(initiator, responder, handshake_payloads)
    assert len(messages) == len(NoiseProtocol.from_name(name).pattern.messages)
    assert initiator.handshake_hash == responder.handshake_hash
    # Every pattern that gives a side a static key also delivers it to the peer.
    assert initiator.remote_static == responder.local_static_public
    assert responder.remote_static == initiator.local_static_public
    ours, theirs = initiator.split(), responder.split()
    one_way = NoiseProtocol.from_name(name).pattern.one_way
    for index, payload in enumerate(transport):
        sender, receiver = (ours, theirs) if one_way or index % 2 == 0 else (theirs, ours)
        message = sender.send.encrypt_with_ad(b"", payload)
        assert len(message) == len(payload) + 16
        assert receiver.receive.decrypt_with_ad(b"", message) == payload


@given(
    protocol_names(),
    st.lists(payloads, min_size=1, max_size=4),
    st.data(),
)
def test_flipped_transport_bit_is_rejected_without_losing_the_nonce(
    name: str, transport: list[bytes], data: st.DataObject
) -> None:
    initiator, responder = make_pair(name)
    run_handshake(initiator, responder)
    sender, receiver = initiator.split().send, responder.split().receive
    for payload in transport:
        message = sender.encrypt_with_ad(b"", payload)
        bit = data.draw(st.integers(0, len(message) * 8 - 1))
        forged = bytearray(message)
        forged[bit // 8] ^= 1 << (bit % 8)
        nonce = receiver.nonce
        try:
            receiver.decrypt_with_ad(b"", bytes(forged))
        except DecryptError:
            pass
        else:
            raise AssertionError("a forged transport message was accepted")
        assert receiver.nonce == nonce
        assert receiver.decrypt_with_ad(b"", message) == payload
