"""Fingerprints and line ids: what operators compare, computed as the specification says."""

from __future__ import annotations

import hashlib
import re

import pytest

from hotline.errors import ExitCode
from hotline.identity import (
    Card,
    Fingerprint,
    FingerprintMalformedError,
    FingerprintMismatchError,
    StationKeys,
    format_fingerprint,
    line_id,
    parse_fingerprint,
)

from . import spec


def test_fingerprint_matches_the_specification(card: Card) -> None:
    keys = card.keys
    expected = spec.fingerprint_digits(card.name.encode(), keys.x25519, keys.ed25519, keys.mldsa87)
    assert card.fingerprint.code == expected
    assert str(card.fingerprint) == " ".join(expected[i : i + 5] for i in range(0, 40, 5))
    assert re.fullmatch(r"(\d{5} ){7}\d{5}", str(card.fingerprint))


def test_leading_zeros_are_kept() -> None:
    assert format_fingerprint((7).to_bytes(64, "big")) == "00000 " * 7 + "00007"
    assert format_fingerprint((10**40 + 42).to_bytes(64, "big")) == "00000 " * 7 + "00042"


def test_addresses_do_not_change_the_fingerprint(keys: StationKeys, card: Card) -> None:
    moved = Card.create(keys, card.name, ("192.0.2.99:9999",))
    assert moved.fingerprint == card.fingerprint


def test_name_and_every_key_change_the_fingerprint(
    keys: StationKeys, other_keys: StationKeys, card: Card
) -> None:
    renamed = Card.create(keys, "moskva", card.addresses)
    assert renamed.fingerprint != card.fingerprint
    public = keys.public
    other = other_keys.public
    for variant in (
        (other.x25519, public.ed25519, public.mldsa87),
        (public.x25519, other.ed25519, public.mldsa87),
        (public.x25519, public.ed25519, other.mldsa87),
    ):
        digits = spec.fingerprint_digits(b"moscow", *variant)
        assert digits != card.fingerprint.code


@pytest.mark.parametrize(
    "typed",
    [
        "{code}",
        "{grouped}",
        "{dashed}",
        "  {grouped}  ",
        "{code_start} - {code_end}",
        "{grouped_tab}",
    ],
)
def test_typed_fingerprints_accept_spaces_and_dashes(card: Card, typed: str) -> None:
    code = card.fingerprint.code
    grouped = str(card.fingerprint)
    text = typed.format(
        code=code,
        grouped=grouped,
        dashed=grouped.replace(" ", "-"),
        code_start=code[:20],
        code_end=code[20:],
        grouped_tab=grouped.replace(" ", "\t"),
    )
    assert parse_fingerprint(text) == code
    card.fingerprint.check(text)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "1" * 39,
        "1" * 41,
        "1" * 39 + "a",
        "1" * 39 + "٣",
        "1" * 39 + "_",
        "1" * 20 + "." + "1" * 20,
    ],
)
def test_malformed_fingerprints_are_refused(card: Card, typed: str) -> None:
    with pytest.raises(FingerprintMalformedError) as caught:
        card.fingerprint.check(typed)
    assert caught.value.exit_code == ExitCode.FINGERPRINT_MALFORMED


def test_one_wrong_digit_is_a_mismatch(card: Card) -> None:
    code = card.fingerprint.code
    for position in (0, 17, 39):
        wrong = code[:position] + str((int(code[position]) + 1) % 10) + code[position + 1 :]
        with pytest.raises(FingerprintMismatchError) as caught:
            card.fingerprint.check(wrong)
        assert caught.value.exit_code == ExitCode.FINGERPRINT_MISMATCH


def test_another_cards_fingerprint_is_a_mismatch(card: Card, other_keys: StationKeys) -> None:
    other = Card.create(other_keys, "moscow", card.addresses)
    with pytest.raises(FingerprintMismatchError):
        card.fingerprint.check(str(other.fingerprint))


def test_line_id_is_symmetric_and_follows_the_specification(
    card: Card, other_keys: StationKeys
) -> None:
    other = Card.create(other_keys, "washington", ())
    assert line_id(card, other) == line_id(other, card)
    assert len(line_id(card, other)) == 64
    assert line_id(card, other) == spec.line_id(card.fingerprint.digest, other.fingerprint.digest)
    third = Card.create(StationKeys.generate(), "london", ())
    assert line_id(card, third) != line_id(card, other)


def test_fingerprint_of_name_and_keys(card: Card) -> None:
    assert Fingerprint.of(card.name, card.keys) == card.fingerprint
    assert len(card.fingerprint.digest) == 64


def test_known_answers() -> None:
    """Frozen values, also printed in docs/identity.md §9 for second implementations."""
    a = StationKeys.from_private_bytes(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
    b = StationKeys.from_private_bytes(b"\x04" * 32, b"\x05" * 32, b"\x06" * 32)
    jerusalem = Card.create(a, "jerusalem", ("127.0.0.1:7401",))
    moscow = Card.create(b, "moscow", ())
    assert a.public.x25519.hex() == (
        "a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a209"
    )
    assert a.public.ed25519.hex() == (
        "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
    )
    assert hashlib.sha256(a.public.mldsa87).hexdigest() == (
        "3a3db02cec39c0cb089d196de7536cb82db96b1c3d29aa30c7085bae0bda8d74"
    )
    assert hashlib.sha256(jerusalem.body).hexdigest() == (
        "574fda56b2702df745f18956407e47f8cbf442160901d779cdae763e06aa3877"
    )
    assert str(jerusalem.fingerprint) == "43156 34376 28924 95232 31099 17091 37656 97976"
    assert str(moscow.fingerprint) == "38125 45021 99687 15100 04668 33417 02136 85747"
    assert line_id(jerusalem, moscow).hex() == (
        "556670e200d5460295c44422a7b78dd47619fa840d525fcd"
        "94ac6067c1b58b88ad407ae004e2809ffd35e09147441783"
        "cbb94cc731d37be2829339bcca11a77f"
    )
