"""Live handshakes against the independent ``noiseprotocol`` package, in both roles.

That package runs on pyca too, so it checks our state machine (token order, HKDF, nonces,
transcript) rather than the primitives; the official vectors cover those.
"""

from __future__ import annotations

from typing import Any

import pytest

from hotline.noise import HandshakeState, HandshakeStatus, NoiseProtocol

from .helpers import make_side, public_key, side_keys

noise_connection = pytest.importorskip("noise.connection")

PATTERNS = ["KK", "IK", "XX", "XXpsk3", "NNpsk0+psk2"]
SUITES = ["25519_AESGCM_SHA512", "25519_ChaChaPoly_SHA256", "448_ChaChaPoly_BLAKE2b"]
PROLOGUE = b"hotline interop"


def their_side(protocol: NoiseProtocol, *, initiator: bool) -> Any:
    """A noiseprotocol NoiseConnection with the same keys ``make_side`` gives our side."""
    keys = side_keys(protocol, initiator=initiator, fixed_ephemeral=False)
    connection = noise_connection.NoiseConnection.from_name(protocol.name.encode())
    if initiator:
        connection.set_as_initiator()
    else:
        connection.set_as_responder()
    connection.set_prologue(PROLOGUE)
    keypair = noise_connection.Keypair
    if keys.static is not None:
        connection.set_keypair_from_private_bytes(keypair.STATIC, keys.static)
    if keys.remote_static is not None:
        connection.set_keypair_from_public_bytes(keypair.REMOTE_STATIC, keys.remote_static)
    if keys.psks:
        connection.set_psks(psks=list(keys.psks))
    connection.start_handshake()
    return connection


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("we_initiate", [True, False], ids=["we-initiate", "we-respond"])
def test_handshake_and_transport(pattern: str, suite: str, we_initiate: bool) -> None:
    protocol = NoiseProtocol.from_name(f"Noise_{pattern}_{suite}")
    ours: HandshakeState = make_side(protocol, initiator=we_initiate, prologue=PROLOGUE)
    theirs = their_side(protocol, initiator=not we_initiate)
    index = 0
    while not ours.complete:
        payload = b"handshake payload %d" % index
        if ours.status is HandshakeStatus.WRITING:
            assert bytes(theirs.read_message(ours.write_message(payload))) == payload
        else:
            assert ours.read_message(bytes(theirs.write_message(payload))) == payload
        index += 1
    assert theirs.handshake_finished
    assert ours.handshake_hash == theirs.get_handshake_hash()
    their_keys = side_keys(protocol, initiator=not we_initiate, fixed_ephemeral=False)
    if their_keys.static is not None:
        assert ours.remote_static == public_key(protocol, their_keys.static)

    transport = ours.split()
    for round_ in range(3):
        out = b"to them %d" % round_
        assert theirs.decrypt(transport.send.encrypt_with_ad(b"", out)) == out
        back = b"to us %d" % round_
        assert transport.receive.decrypt_with_ad(b"", theirs.encrypt(back)) == back

    # Rekey (spec §11.3) in both directions, then keep talking.
    transport.send.rekey()
    theirs.rekey_inbound_cipher()
    assert theirs.decrypt(transport.send.encrypt_with_ad(b"", b"rekeyed")) == b"rekeyed"
    theirs.rekey_outbound_cipher()
    transport.receive.rekey()
    assert transport.receive.decrypt_with_ad(b"", theirs.encrypt(b"and back")) == b"and back"
