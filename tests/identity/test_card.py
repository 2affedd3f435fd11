"""Cards: canonical encoding, and every refusal of a card that is not what it claims."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.constants import LABEL_CARD
from hotline.errors import ExitCode
from hotline.identity import (
    Card,
    CardFormatError,
    CardPostQuantumError,
    CardSignatureError,
    CardVersionError,
    StationKeys,
)

from . import spec


def _fields(card: Card) -> tuple[bytes, bytes, bytes, bytes, list[bytes]]:
    return (
        card.name.encode(),
        card.keys.x25519,
        card.keys.ed25519,
        card.keys.mldsa87,
        [a.encode() for a in card.addresses],
    )


def _signed(keys: StationKeys, body: bytes) -> bytes:
    """A card over ``body`` signed the way the spec says, whatever ``body`` holds."""
    ed25519_sig, mldsa87_sig = keys.sign(LABEL_CARD, body)
    return spec.card(body, ed25519_sig, mldsa87_sig)


def test_encoding_matches_the_specification(card: Card) -> None:
    body = spec.card_body(*_fields(card))
    assert card.body == body
    assert card.encode() == spec.card(body, card.ed25519_signature, card.mldsa87_signature)


def test_round_trip_is_exact(card: Card) -> None:
    decoded = Card.decode(card.encode())
    assert decoded == card
    assert decoded.encode() == card.encode()


def test_a_card_signed_per_the_specification_decodes(keys: StationKeys) -> None:
    body = spec.card_body(
        b"washington", keys.public.x25519, keys.public.ed25519, keys.public.mldsa87, []
    )
    card = Card.decode(_signed(keys, body))
    assert card.name == "washington"
    assert card.addresses == ()


def test_unknown_version_is_refused(keys: StationKeys, card: Card) -> None:
    body = spec.card_body(*_fields(card), version=2)
    with pytest.raises(CardVersionError) as caught:
        Card.decode(_signed(keys, body))
    assert caught.value.exit_code == ExitCode.CARD_UNKNOWN_VERSION


def test_missing_post_quantum_key_is_refused(keys: StationKeys) -> None:
    body = spec.card_body(b"moscow", keys.public.x25519, keys.public.ed25519, b"", [])
    ed25519_sig = keys.ed25519.sign(LABEL_CARD + body)  # a classical-only card
    with pytest.raises(CardPostQuantumError) as caught:
        Card.decode(spec.card(body, ed25519_sig, b""))
    assert caught.value.exit_code == ExitCode.CARD_NO_POST_QUANTUM_KEY


def test_missing_post_quantum_signature_is_refused(keys: StationKeys, card: Card) -> None:
    body = spec.card_body(*_fields(card))
    ed25519_sig = keys.ed25519.sign(LABEL_CARD + body)
    with pytest.raises(CardPostQuantumError):
        Card.decode(spec.card(body, ed25519_sig, b""))


@pytest.mark.parametrize("field", ["name", "x25519", "ed25519", "mldsa87", "address"])
def test_any_change_to_the_body_breaks_the_self_signature(card: Card, field: str) -> None:
    name, x25519, ed25519, mldsa87, addresses = _fields(card)
    if field == "name":
        name = b"moskva"
    elif field == "x25519":
        x25519 = bytes([x25519[0] ^ 1]) + x25519[1:]
    elif field == "ed25519":
        ed25519 = bytes([ed25519[0] ^ 1]) + ed25519[1:]
    elif field == "mldsa87":
        mldsa87 = mldsa87[:-1] + bytes([mldsa87[-1] ^ 1])
    else:
        addresses = [b"10.6.6.6:7401", *addresses[1:]]
    forged = spec.card(
        spec.card_body(name, x25519, ed25519, mldsa87, addresses),
        card.ed25519_signature,
        card.mldsa87_signature,
    )
    with pytest.raises(CardSignatureError) as caught:
        Card.decode(forged)
    assert caught.value.exit_code == ExitCode.CARD_BAD_SIGNATURE


@pytest.mark.parametrize("which", ["ed25519", "mldsa87"])
def test_both_signatures_must_verify(card: Card, other_keys: StationKeys, which: str) -> None:
    """One valid signature is not enough: the other, made by another key, spoils the card."""
    foreign_ed, foreign_ml = other_keys.sign(LABEL_CARD, card.body)
    ed25519_sig = foreign_ed if which == "ed25519" else card.ed25519_signature
    mldsa87_sig = foreign_ml if which == "mldsa87" else card.mldsa87_signature
    with pytest.raises(CardSignatureError):
        Card.decode(spec.card(card.body, ed25519_sig, mldsa87_sig))


def test_signature_under_another_label_is_refused(keys: StationKeys, card: Card) -> None:
    ed25519_sig, mldsa87_sig = keys.sign(b"hotline/1 receipt", card.body)
    with pytest.raises(CardSignatureError):
        Card.decode(spec.card(card.body, ed25519_sig, mldsa87_sig))


def test_trailing_bytes_are_refused(card: Card) -> None:
    with pytest.raises(CardFormatError, match="trailing"):
        Card.decode(card.encode() + b"\x00")


def test_every_truncation_is_refused(card: Card) -> None:
    data = card.encode()
    for length in range(len(data)):
        with pytest.raises(CardFormatError):
            Card.decode(data[:length])


@pytest.mark.parametrize(
    "name",
    [b"", b"Moscow", b"-moscow", b".hidden", b"mos cow", "москва".encode(), b"a" * 65, b"m\x00"],
)
def test_bad_names_are_refused(keys: StationKeys, name: bytes) -> None:
    body = spec.card_body(name, keys.public.x25519, keys.public.ed25519, keys.public.mldsa87, [])
    with pytest.raises(CardFormatError):
        Card.decode(_signed(keys, body))


@pytest.mark.parametrize(
    "addresses",
    [
        [b"10.0.0.1"],
        [b"10.0.0.1:0"],
        [b"10.0.0.1:65536"],
        [b"10.0.0.1:07401"],
        [b"Moscow.example:1"],
        [b"[::0001]:1"],
        [b"::1:7401"],
        [b"[::ffff:10.0.0.1]:1"],
        [b"[fe80::1%eth0]:1"],
        [b"1.2.3:4"],
        [b"10.0.0.1:1", b"10.0.0.1:1"],
        [f"10.0.0.{i}:1".encode() for i in range(9)],
        ["москва.example:1".encode()],
    ],
)
def test_bad_addresses_are_refused(keys: StationKeys, addresses: list[bytes]) -> None:
    public = keys.public
    body = spec.card_body(b"moscow", public.x25519, public.ed25519, public.mldsa87, addresses)
    with pytest.raises(CardFormatError):
        Card.decode(_signed(keys, body))


@pytest.mark.parametrize("size", [31, 33])
def test_wrong_key_sizes_are_refused(keys: StationKeys, size: int) -> None:
    public = keys.public
    body = spec.card_body(b"moscow", b"\x01" * size, public.ed25519, public.mldsa87, [])
    with pytest.raises(CardFormatError, match="X25519"):
        Card.decode(_signed(keys, body))


def test_create_refuses_what_decode_would(keys: StationKeys) -> None:
    with pytest.raises(CardFormatError):
        Card.create(keys, "Moscow", ())
    with pytest.raises(CardFormatError):
        Card.create(keys, "moscow", tuple(f"10.0.0.{i}:1" for i in range(9)))


def test_repr_shows_no_signature_or_secret(keys: StationKeys, card: Card) -> None:
    assert keys.private_bytes()[:8].hex() not in repr(keys)
    assert card.ed25519_signature.hex()[:16] not in repr(card)


_names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,63}", fullmatch=True)
_addresses = st.lists(
    st.builds(
        "{}.{}.{}.{}:{}".format,
        *[st.integers(0, 255)] * 4,
        st.integers(1, 65535),
    ),
    max_size=8,
    unique=True,
)


@given(name=_names, addresses=_addresses)
def test_any_valid_card_round_trips(name: str, addresses: list[str]) -> None:
    card = Card.create(_KEYS, name, tuple(addresses))
    assert Card.decode(card.encode()) == card


_KEYS = StationKeys.generate()
