"""hotline.signatures: the one hybrid scheme every Hotline signature uses."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA87PrivateKey

from hotline.constants import LABEL_CHAIN_HEAD, LABEL_RECEIPT
from hotline.signatures import (
    HYBRID_SIGNATURE_LEN,
    HybridSignature,
    SignatureFormatError,
    SigningKeys,
    VerifyKeys,
    sign,
    verify,
)

from .helpers import FIRST, SECOND


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def test_sign_then_verify() -> None:
    signature = FIRST.keys.sign(LABEL_CHAIN_HEAD, b"message")
    assert len(signature.encode()) == HYBRID_SIGNATURE_LEN == 4691
    assert FIRST.public.verify(LABEL_CHAIN_HEAD, b"message", signature)


def test_the_function_form_matches_the_key_objects() -> None:
    keys = FIRST.keys
    signature = sign(keys.ed25519, keys.mldsa87, LABEL_RECEIPT, b"m")
    public = keys.public()
    assert verify(public.ed25519, public.mldsa87, LABEL_RECEIPT, b"m", signature)
    # Ed25519 is deterministic: the same half as the key object's.
    assert signature.ed25519 == keys.sign(LABEL_RECEIPT, b"m").ed25519


@pytest.mark.parametrize("half", ["ed25519", "mldsa87"])
def test_one_bad_half_is_enough_to_refuse(half: str) -> None:
    good = FIRST.keys.sign(LABEL_CHAIN_HEAD, b"message")
    other = SECOND.keys.sign(LABEL_CHAIN_HEAD, b"message")
    flipped = HybridSignature(
        flip(good.ed25519) if half == "ed25519" else good.ed25519,
        flip(good.mldsa87, 100) if half == "mldsa87" else good.mldsa87,
    )
    swapped = HybridSignature(
        other.ed25519 if half == "ed25519" else good.ed25519,
        other.mldsa87 if half == "mldsa87" else good.mldsa87,
    )
    assert not FIRST.public.verify(LABEL_CHAIN_HEAD, b"message", flipped)
    assert not FIRST.public.verify(LABEL_CHAIN_HEAD, b"message", swapped)


def test_the_label_message_and_key_are_all_bound() -> None:
    signature = FIRST.keys.sign(LABEL_CHAIN_HEAD, b"message")
    assert not FIRST.public.verify(LABEL_RECEIPT, b"message", signature)
    assert not FIRST.public.verify(LABEL_CHAIN_HEAD, b"messagf", signature)
    assert not SECOND.public.verify(LABEL_CHAIN_HEAD, b"message", signature)


def test_ed25519_covers_the_label_as_a_prefix_and_mldsa_as_a_context() -> None:
    # Ed25519 signs label || message: moving bytes between the two must not verify.
    signature = FIRST.keys.sign(b"hotline/1 chain head", b"Xmessage")
    assert not FIRST.public.verify(b"hotline/1 chain headX", b"message", signature)


@pytest.mark.parametrize("label", [b"", bytes(256)])
def test_a_label_no_signature_could_carry_is_a_bug(label: bytes) -> None:
    with pytest.raises(ValueError, match="label"):
        FIRST.keys.sign(label, b"m")
    with pytest.raises(ValueError, match="label"):
        FIRST.public.verify(label, b"m", FIRST.keys.sign(b"l", b"m"))


def test_decoding_is_strict() -> None:
    signature = FIRST.keys.sign(LABEL_CHAIN_HEAD, b"m")
    assert HybridSignature.decode(signature.encode()) == signature
    for data in (signature.encode()[:-1], signature.encode() + b"\0", b""):
        with pytest.raises(SignatureFormatError):
            HybridSignature.decode(data)
    with pytest.raises(SignatureFormatError):
        HybridSignature(bytes(63), bytes(4627))


def test_public_keys_load_from_card_bytes() -> None:
    raw_ed = FIRST.public.ed25519.public_bytes_raw()
    raw_ml = FIRST.public.mldsa87.public_bytes_raw()
    keys = VerifyKeys.from_public_bytes(raw_ed, raw_ml)
    assert keys.verify(LABEL_CHAIN_HEAD, b"m", FIRST.keys.sign(LABEL_CHAIN_HEAD, b"m"))
    with pytest.raises(ValueError):
        VerifyKeys.from_public_bytes(raw_ed, raw_ml[:-1])


def test_no_private_key_in_a_repr() -> None:
    keys = SigningKeys(Ed25519PrivateKey.generate(), MLDSA87PrivateKey.generate())
    private = keys.ed25519.private_bytes_raw().hex()
    text = repr(keys)
    assert private[:16] not in text
    assert keys.public().ed25519.public_bytes_raw()[:8].hex() in text
