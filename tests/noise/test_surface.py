"""The public surface of hotline.noise (the sans-IO import rules live in tests/test_layering.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import hotline.noise

PUBLIC = {
    "MAX_MESSAGE_LEN",
    "MLKEM768",
    "MLKEM1024",
    "CipherState",
    "DecryptError",
    "HandshakePattern",
    "HandshakeState",
    "HandshakeStatus",
    "Kem",
    "KemKeyPair",
    "LocalProtocolError",
    "NoiseError",
    "NoiseProtocol",
    "RemoteProtocolError",
    "Token",
    "TransportState",
    "UnsupportedProtocolError",
}

PACKAGE = Path(hotline.noise.__file__).parent


def test_public_names() -> None:
    names = {name for name in vars(hotline.noise) if not name.startswith("_")}
    names -= {"vectors"}  # a submodule, present once imported
    assert names == PUBLIC


def test_errors_split_blame() -> None:
    noise = hotline.noise
    assert issubclass(noise.LocalProtocolError, noise.NoiseError)
    assert issubclass(noise.RemoteProtocolError, noise.NoiseError)
    assert issubclass(noise.DecryptError, noise.RemoteProtocolError)
    assert issubclass(noise.UnsupportedProtocolError, noise.LocalProtocolError)
    assert not issubclass(noise.RemoteProtocolError, noise.LocalProtocolError)


def test_init_only_reexports() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        assert isinstance(node, ast.ImportFrom) and node.level == 1
        assert all(alias.asname == alias.name for alias in node.names)
