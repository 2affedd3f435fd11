"""Rule 2 of the handshake objects: *any* exception moves them to ``ERROR`` for good.

The Noise core's own errors are not the only way a step can fail: a KEM, a signer or a bug can
raise anything. Each step is made to fail with an exception that is not a Noise error, and the
object must end in ``ERROR``, re-raise the same exception, and refuse to be used again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hotline.handshake import Initiator, KatHooks, LocalProtocolError, Responder, Stage
from hotline.handshake import _handshake as handshake_module

from .stations import DelegatingKem, make_station, pair

NOW = 1_750_000_000.0
ALICE, BOB = make_station(1), make_station(2)


#: A handshake side, and the one step of it that will fail.
Step = tuple[Initiator | Responder, Callable[[], object]]


class Boom(Exception):
    """Not a NoiseError: what a bug, a KEM or a signer might raise."""


def _boom(*args: object) -> bytes:
    raise Boom("injected")


class ExplodingKem(DelegatingKem):
    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        raise Boom("injected")


def _sides(responder_hooks: KatHooks | None = None) -> tuple[Initiator, Responder]:
    to_bob, to_alice = pair(ALICE, BOB)
    return Initiator(ALICE.creds, to_bob), Responder(
        BOB.creds, to_alice, last_accepted=0, hooks=responder_hooks
    )


def fail_start(monkeypatch: pytest.MonkeyPatch) -> Step:
    initiator, _ = _sides()
    monkeypatch.setattr(handshake_module, "encode_timestamp", _boom)
    return initiator, lambda: initiator.start(NOW, 0)


def fail_receive_msg1(monkeypatch: pytest.MonkeyPatch) -> Step:
    initiator, responder = _sides(KatHooks(kem=ExplodingKem()))
    msg1 = initiator.start(NOW, 0)
    return responder, lambda: responder.receive_msg1(msg1, NOW)


def fail_receive_msg2(monkeypatch: pytest.MonkeyPatch) -> Step:
    initiator, responder = _sides()
    msg2 = responder.receive_msg1(initiator.start(NOW, 0), NOW)
    monkeypatch.setattr(handshake_module, "sign_proof", _boom)
    return initiator, lambda: initiator.receive_msg2(msg2)


def fail_responder_proof(monkeypatch: pytest.MonkeyPatch) -> Step:
    initiator, responder = _sides()
    proof_i = initiator.receive_msg2(responder.receive_msg1(initiator.start(NOW, 0), NOW))
    monkeypatch.setattr(handshake_module, "verify_proof", _boom)
    return responder, lambda: responder.receive_proof(proof_i)


def fail_initiator_proof(monkeypatch: pytest.MonkeyPatch) -> Step:
    initiator, responder = _sides()
    proof_i = initiator.receive_msg2(responder.receive_msg1(initiator.start(NOW, 0), NOW))
    proof_r, _ = responder.receive_proof(proof_i)
    monkeypatch.setattr(handshake_module, "verify_proof", _boom)
    return initiator, lambda: initiator.receive_proof(proof_r)


@pytest.mark.parametrize(
    "setup",
    [fail_start, fail_receive_msg1, fail_receive_msg2, fail_responder_proof, fail_initiator_proof],
    ids=["start", "receive_msg1", "receive_msg2", "responder-receive_proof", "receive_proof"],
)
def test_any_exception_moves_the_step_to_error_for_good(
    monkeypatch: pytest.MonkeyPatch,
    setup: Callable[[pytest.MonkeyPatch], Step],
) -> None:
    side, step = setup(monkeypatch)
    before = side.stage
    with pytest.raises(Boom):
        step()
    assert side.stage is Stage.ERROR
    monkeypatch.undo()
    with pytest.raises(LocalProtocolError, match=before.value):
        step()  # the same step again, with nothing broken: refused, the object is finished
    assert side.stage is Stage.ERROR


def test_a_nan_clock_no_longer_leaves_a_reusable_initiator() -> None:
    """The finding as reported: ``start(nan, 0)`` raised ValueError and stayed at START."""
    initiator, _ = _sides()
    with pytest.raises(LocalProtocolError):
        initiator.start(float("nan"), 0)
    assert initiator.stage is Stage.ERROR
