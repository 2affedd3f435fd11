"""Armour: cards survive what mail clients and copy-paste do to text, and nothing else."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.identity import Card, CardFormatError, CardSignatureError, StationKeys
from hotline.identity._armour import armour, dearmour

BEGIN = "-----BEGIN HOTLINE CARD-----"
END = "-----END HOTLINE CARD-----"


def _body_lines(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index(BEGIN) + 1 : lines.index(END)]


def test_armour_layout(card: Card) -> None:
    text = card.armour()
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[0] == BEGIN and lines[-1] == END
    data_lines, checksum = lines[1:-2], lines[-2]
    assert all(len(line) == 64 for line in data_lines[:-1])
    assert 0 < len(data_lines[-1]) <= 64
    assert base64.b64decode("".join(data_lines)) == card.encode()
    expected = base64.b32encode(hashlib.sha256(card.encode()).digest()[:5]).decode()
    assert checksum == "=" + expected


def _rewrap(text: str, width: int) -> str:
    out = []
    for line in text.splitlines():
        if line.startswith("-----"):
            out.append(line)
        else:
            out.extend(line[i : i + width] for i in range(0, len(line), width))
    return "\n".join(out) + "\n"


MANGLES = {
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "cr": lambda t: t.replace("\n", "\r"),
    "trailing spaces": lambda t: t.replace("\n", "  \t\n"),
    "rewrapped narrow": lambda t: _rewrap(t, 20),
    "joined lines": lambda t: _rewrap(t, 1000),
    "quoted": lambda t: "".join("> " + line for line in t.splitlines(keepends=True)),
    "quoted twice": lambda t: "".join("> > " + line for line in t.splitlines(keepends=True)),
    "tight quote": lambda t: "".join(">>" + line for line in t.splitlines(keepends=True)),
    "indented": lambda t: "".join("    " + line for line in t.splitlines(keepends=True)),
    "no-break space quote": lambda t: "".join(
        ">\u00a0" + line for line in t.splitlines(keepends=True)
    ),
    "no-break space indent and trail": lambda t: "".join(
        "\u00a0\t " + line + "\u00a0\n" for line in t.splitlines()
    ),
    "in a letter": lambda t: "Dear colleague,\nour card:\n\n" + t + "\nRegards,\n-- \nMoscow\n",
    "everything": lambda t: (
        "On Monday you wrote:\r\n"
        + "".join("> " + line + " \r\n" for line in _rewrap(t, 37).splitlines())
    ),
}


@pytest.mark.parametrize("mangle", MANGLES.values(), ids=MANGLES.keys())
def test_mangled_armour_round_trips(card: Card, mangle) -> None:  # type: ignore[no-untyped-def]
    assert Card.from_armour(mangle(card.armour())).encode() == card.encode()


_KEYS = StationKeys.generate()
_CARD = Card.create(_KEYS, "washington", ("198.51.100.7:7401",))


@given(
    width=st.integers(1, 120),
    prefix=st.sampled_from(["", "> ", ">> ", "> > ", "\t", "   "]),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    trailing=st.sampled_from(["", " ", "\t", "  "]),
)
def test_any_layout_mangling_round_trips(
    width: int, prefix: str, ending: str, trailing: str
) -> None:
    lines = _rewrap(_CARD.armour(), width).splitlines()
    text = "".join(prefix + line + trailing + ending for line in lines)
    assert Card.from_armour(text).encode() == _CARD.encode()


def test_changed_content_is_caught_by_the_checksum(card: Card) -> None:
    lines = card.armour().splitlines()
    row = lines[3]
    lines[3] = row[:10] + ("A" if row[10] != "A" else "B") + row[11:]
    with pytest.raises(CardFormatError, match="checksum"):
        Card.from_armour("\n".join(lines))


def test_changed_content_with_a_fixed_checksum_fails_the_signature(card: Card) -> None:
    data = bytearray(card.encode())
    data[-100] ^= 1  # inside the ML-DSA signature
    with pytest.raises(CardSignatureError):
        Card.from_armour(armour(bytes(data)))


def test_trailing_bytes_inside_the_armour_are_refused(card: Card) -> None:
    with pytest.raises(CardFormatError, match="trailing"):
        Card.from_armour(armour(card.encode() + b"\x00\x00\x00"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t.replace(BEGIN, ""),
        lambda t: t.replace(END, ""),
        lambda t: t + t,
        lambda t: END + "\n" + t.replace(END, BEGIN, 1).replace(BEGIN, "", 1),
        lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("=")),
        lambda t: t.replace("\n=", "\n=A"),
        lambda t: t.replace("\n=", "\n=a"),
        lambda t: t.replace("\n=", "\n!!\n="),
        lambda t: "",
        lambda t: "x" * (1 << 21),
    ],
    ids=[
        "no begin",
        "no end",
        "two cards",
        "end first",
        "no checksum",
        "long checksum",
        "lower-case checksum",
        "foreign characters",
        "empty",
        "too long",
    ],
)
def test_damaged_armour_is_refused(card: Card, damage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CardFormatError):
        Card.from_armour(damage(card.armour()))


def test_non_canonical_base64_is_refused() -> None:
    data = b"\x01\x02"  # "AQI=" canonically; "AQJ=" decodes to the same bytes
    text = armour(data).replace("AQI=", "AQJ=")
    assert base64.b64decode("AQJ=") == data
    with pytest.raises(CardFormatError, match="canonical"):
        dearmour(text)


def test_dearmour_returns_exactly_the_bytes() -> None:
    for size in range(0, 200, 7):
        data = bytes(range(size))
        assert dearmour(armour(data)) == data


# --- the exact layout rule (docs/identity.md §4 step 2) ---------------------------------------


@pytest.mark.parametrize(
    "separator",
    ["\v", "\f", "\x1c", "\x85", "\u2028", "\u2029"],
    ids=["VT", "FF", "FS", "NEL", "LINE SEPARATOR", "PARAGRAPH SEPARATOR"],
)
def test_only_cr_and_lf_end_lines(card: Card, separator: str) -> None:
    """``str.splitlines`` would split at these too; a second implementation would not."""
    with pytest.raises(CardFormatError, match="no -----BEGIN"):
        Card.from_armour(card.armour().replace("\n", separator))


@pytest.mark.parametrize(
    "blank",
    ["\u2003", "\u3000", "\u202f", "\v"],
    ids=["EM SPACE", "IDEOGRAPHIC SPACE", "NARROW NO-BREAK SPACE", "VT"],
)
def test_only_space_tab_and_no_break_space_are_blanks(card: Card, blank: str) -> None:
    """Python's ``\\s`` matches these; the rule lists its three blanks instead."""
    lines = card.armour().splitlines()
    lines[2] = lines[2][:20] + blank + lines[2][20:]
    with pytest.raises(CardFormatError, match="damaged card"):
        Card.from_armour("\n".join(lines))
    indented = "".join(blank + line + "\n" for line in card.armour().splitlines())
    with pytest.raises(CardFormatError, match="no -----BEGIN"):
        Card.from_armour(indented)
