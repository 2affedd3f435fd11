"""Lines follow every pin of a peer, not only its static key (``pair --replace`` while serving)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from hotline.station import _daemon
from hotline.station._daemon import Daemon


class _FakeLine:
    name = "moscow"

    def __init__(self, peer: Any, *_: Any, **__: Any) -> None:
        self.peer = peer


def _peer(static: bytes, digest: bytes) -> Any:
    keys = SimpleNamespace(x25519=static)
    card = SimpleNamespace(keys=keys, fingerprint=SimpleNamespace(digest=digest), addresses=())
    return SimpleNamespace(name="moscow", card=card)


def _registry(*peers: Any) -> Any:
    return SimpleNamespace(active=lambda: peers)


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Daemon:
    monkeypatch.setattr(_daemon, "Line", _FakeLine)
    monkeypatch.setattr(_daemon, "line_id", lambda *_: b"line")
    monkeypatch.setattr(_daemon, "_peer_keys", lambda card: card.fingerprint.digest)
    monkeypatch.setattr(
        _daemon.PairedPeer, "derive", staticmethod(lambda _local, keys, _id: ("paired", keys))
    )
    monkeypatch.setattr(_daemon, "PeerTable", tuple)
    monkeypatch.setattr(
        Daemon,
        "_line_peer",
        lambda self, peer, paired: SimpleNamespace(addresses=(), paired=paired),
    )
    monkeypatch.setattr(
        Daemon, "_courier", lambda self, peer, paired: SimpleNamespace(paired=paired)
    )
    d = Daemon.__new__(Daemon)  # only what _apply_peers touches
    d._lines, d._paired, d._cards, d._couriers = {}, {}, {}, {}
    d._config = SimpleNamespace(dial_addresses=lambda name: (), line=None)
    d._local = d._card = d._store = d._refusals = d._session_timing = None
    d._listener = SimpleNamespace(table=None)
    return d


def test_a_changed_signing_key_replaces_the_line(daemon: Daemon) -> None:
    removed, added = daemon._apply_peers(_registry(_peer(b"S" * 32, b"old")))
    assert removed == [] and len(added) == 1
    first = added[0]
    # The same pins again: nothing changes.
    assert daemon._apply_peers(_registry(_peer(b"S" * 32, b"old"))) == ([], [])
    # pair --replace kept the static key but changed a signing key: a new line, new pins.
    removed, added = daemon._apply_peers(_registry(_peer(b"S" * 32, b"new")))
    assert removed == [first] and len(added) == 1
    assert daemon._paired[b"S" * 32] == ("paired", b"new")
    assert daemon._couriers[b"S" * 32].paired == ("paired", b"new")  # a courier for the new pins
    assert daemon._listener is not None and daemon._listener.table == (("paired", b"new"),)
    # Unpaired: the line goes and so do its pins.
    removed, added = daemon._apply_peers(_registry())
    assert len(removed) == 1 and added == []
    assert daemon._paired == {} and daemon._cards == {} and daemon._couriers == {}
