"""Handshake patterns (spec §7), the ``pskN`` modifier (§9) and the ``hfs`` modifier.

The 15 basic patterns are written below in the spec's own notation and parsed once at import,
so the table can be checked against the spec by eye. Modifiers are applied in the order the
name lists them (``NNpsk0+psk2``, ``XXhfs``, ``NNpsk0+hfs``):

- ``psk0`` puts a ``psk`` token at the start of the first message; ``pskN`` (N >= 1) puts one
  at the end of the N-th message (§9.2).
- ``hfs`` (noise_hfs spec §5, placed as snow and Signal's noise-c place it) puts ``e1`` right
  after the first DH token of the message holding the first ``e`` or, if that message has no
  DH token, right after that ``e``; and ``ekem1`` right after the first ``ee``. It is refused
  on the one-way patterns, which have no ``ee``.

Deferred patterns (``X1K``...) and ``fallback`` are recognised and refused as unsupported.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from ._errors import LocalProtocolError, UnsupportedProtocolError


class Token(enum.StrEnum):
    """A handshake token (spec §7.1, noise_hfs §4)."""

    E = "e"
    S = "s"
    EE = "ee"
    ES = "es"
    SE = "se"
    SS = "ss"
    PSK = "psk"
    E1 = "e1"
    EKEM1 = "ekem1"

    @property
    def is_dh(self) -> bool:
        """Whether the token is one of the four DH tokens ``ee es se ss``."""
        return self in _DH_TOKENS


_DH_TOKENS: Final = frozenset({Token.EE, Token.ES, Token.SE, Token.SS})

Message = tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class HandshakePattern:
    """A handshake pattern with its modifiers applied.

    Attributes:
        name: the pattern part of the protocol name, e.g. ``XXpsk3`` or ``KKhfs``.
        initiator_premessage: tokens the responder knows before the handshake (``-> s``).
        responder_premessage: tokens the initiator knows before the handshake (``<- s``).
        messages: the message patterns, in order.
        one_way: every message goes initiator → responder (``N``, ``K``, ``X``).
    """

    name: str
    initiator_premessage: Message
    responder_premessage: Message
    messages: tuple[Message, ...]
    one_way: bool

    @property
    def psk_count(self) -> int:
        """How many ``psk`` tokens the pattern holds (one PSK each)."""
        return sum(message.count(Token.PSK) for message in self.messages)

    @property
    def is_hfs(self) -> bool:
        """Whether the ``hfs`` modifier is applied (the pattern holds ``e1``)."""
        return any(Token.E1 in message for message in self.messages)

    def sent_by_initiator(self, index: int) -> bool:
        """Whether message ``index`` (from 0) is written by the initiator."""
        return self.one_way or index % 2 == 0

    def premessage(self, initiator: bool) -> Message:
        """The pre-message of the initiator (``initiator=True``) or of the responder."""
        return self.initiator_premessage if initiator else self.responder_premessage

    def tokens_sent(self, initiator: bool) -> frozenset[Token]:
        """Every token the given side sends, pre-messages included.

        A side needs its static key exactly when ``s`` is in this set, a fixed ephemeral key
        is meaningful when ``e`` is, and a KEM seed when ``e1`` is.
        """
        sent = set(self.premessage(initiator))
        for index, message in enumerate(self.messages):
            if self.sent_by_initiator(index) == initiator:
                sent.update(message)
        return frozenset(sent)


# Spec §7.4 (one-way) and §7.5 (interactive), revision 34.
_BASIC: Final[dict[str, tuple[str, ...]]] = {
    "N": ("<- s", "...", "-> e, es"),
    "K": ("-> s", "<- s", "...", "-> e, es, ss"),
    "X": ("<- s", "...", "-> e, es, s, ss"),
    "NN": ("-> e", "<- e, ee"),
    "NK": ("<- s", "...", "-> e, es", "<- e, ee"),
    "NX": ("-> e", "<- e, ee, s, es"),
    "KN": ("-> s", "...", "-> e", "<- e, ee, se"),
    "KK": ("-> s", "<- s", "...", "-> e, es, ss", "<- e, ee, se"),
    "KX": ("-> s", "...", "-> e", "<- e, ee, se, s, es"),
    "XN": ("-> e", "<- e, ee", "-> s, se"),
    "XK": ("<- s", "...", "-> e, es", "<- e, ee", "-> s, se"),
    "XX": ("-> e", "<- e, ee, s, es", "-> s, se"),
    "IN": ("-> e, s", "<- e, ee, se"),
    "IK": ("<- s", "...", "-> e, es, s, ss", "<- e, ee, se"),
    "IX": ("-> e, s", "<- e, ee, se, s, es"),
}

_ONE_WAY: Final = frozenset({"N", "K", "X"})


def _tokens(text: str) -> Message:
    return tuple(Token(word.strip()) for word in text.split(","))


def _parse_basic(name: str, lines: tuple[str, ...]) -> HandshakePattern:
    """Parse one pattern written in spec notation; the table is ours, so errors are bugs."""
    if "..." in lines:
        split = lines.index("...")
        pre, body = lines[:split], lines[split + 1 :]
    else:
        pre, body = (), lines
    initiator_pre: Message = ()
    responder_pre: Message = ()
    for line in pre:
        arrow, _, rest = line.partition(" ")
        if arrow == "->":
            initiator_pre = _tokens(rest)
        else:
            responder_pre = _tokens(rest)
    one_way = name in _ONE_WAY
    messages = []
    for index, line in enumerate(body):
        arrow, _, rest = line.partition(" ")
        expected = "->" if one_way or index % 2 == 0 else "<-"
        if arrow != expected:
            raise AssertionError(f"pattern table: {name} message {index} goes the wrong way")
        messages.append(_tokens(rest))
    return HandshakePattern(name, initiator_pre, responder_pre, tuple(messages), one_way)


_PATTERNS: Final = {name: _parse_basic(name, lines) for name, lines in _BASIC.items()}

_NAME: Final = re.compile(r"([A-Z][A-Z0-9]*)(.*)")
_PSK: Final = re.compile(r"psk([0-9]{1,2})")


def pattern_by_name(name: str) -> HandshakePattern:
    """Return the pattern called ``name`` (the second field of a protocol name).

    Raises:
        LocalProtocolError: ``name`` is malformed, or a modifier cannot apply to the pattern.
        UnsupportedProtocolError: a deferred pattern, ``fallback``, or an unknown modifier.
    """
    match = _NAME.fullmatch(name)
    if match is None:
        raise LocalProtocolError(f"malformed pattern name {name!r}")
    base, modifier_text = match.groups()
    if base not in _PATTERNS:
        kind = "deferred pattern" if "1" in base else "pattern"
        raise UnsupportedProtocolError(f"unsupported {kind} {base!r}")
    modifiers = modifier_text.split("+") if modifier_text else []
    if len(set(modifiers)) != len(modifiers) or "" in modifiers:
        raise LocalProtocolError(f"malformed modifiers in {name!r}")
    messages = [list(message) for message in _PATTERNS[base].messages]
    for modifier in modifiers:
        if psk := _PSK.fullmatch(modifier):
            _apply_psk(messages, int(psk.group(1)), name)
        elif modifier == "hfs":
            _apply_hfs(messages, name, one_way=base in _ONE_WAY)
        else:
            raise UnsupportedProtocolError(f"unsupported modifier {modifier!r} in {name!r}")
    basic = _PATTERNS[base]
    return HandshakePattern(
        name,
        basic.initiator_premessage,
        basic.responder_premessage,
        tuple(tuple(message) for message in messages),
        basic.one_way,
    )


def _apply_psk(messages: list[list[Token]], position: int, name: str) -> None:
    """Spec §9.2: ``psk0`` opens the first message, ``pskN`` closes the N-th."""
    if position > len(messages):
        raise LocalProtocolError(f"{name!r}: psk{position} but only {len(messages)} messages")
    if position == 0:
        messages[0].insert(0, Token.PSK)
    else:
        messages[position - 1].append(Token.PSK)


def _apply_hfs(messages: list[list[Token]], name: str, *, one_way: bool) -> None:
    """noise_hfs §5 as snow and Signal's noise-c read it (see the module docstring)."""
    if one_way:
        raise LocalProtocolError(f"{name!r}: hfs needs an interactive pattern")
    holder = next(message for message in messages if Token.E in message)
    dh_positions = [i for i, token in enumerate(holder) if token.is_dh]
    anchor = dh_positions[0] if dh_positions else holder.index(Token.E)
    holder.insert(anchor + 1, Token.E1)
    # In every interactive pattern the first e is the initiator's (message 1) and the first ee
    # the responder's (message 2): e1 goes out before ekem1 needs it, from the other side.
    holder = next(message for message in messages if Token.EE in message)
    holder.insert(holder.index(Token.EE) + 1, Token.EKEM1)
