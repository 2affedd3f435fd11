"""The handshake's errors, split by blame as h11 splits them.

They extend the Noise core's two roots, so a caller (the session, the I/O layer) catches one
``RemoteProtocolError`` whether the Noise layer or the Hotline layer above it found the fault:

- ``LocalProtocolError``: we misused the API (wrong turn, bad key handed in). A bug on our side.
- ``RemoteProtocolError``: the peer sent what a correct, paired peer never sends. Drop the
  connection; no reply is owed (WireGuard's "silence is a virtue").

:class:`CryptoSupportError` is different in kind: the station cannot run at all, so it is a
:class:`~hotline.errors.HotlineError` with its own exit code, shown to the operator as one line.
"""

from __future__ import annotations

from hotline.errors import ExitCode, HotlineError
from hotline.noise import RemoteProtocolError


class UnknownPeerError(RemoteProtocolError):
    """A msg1 whose mac1 matches no paired peer (or not the expected one), or of the wrong size.

    Raised only where a peer is already expected (a rekey inside a session); the responder's
    first contact returns ``None`` from :meth:`PeerTable.identify` instead, allocating nothing.
    """


class ReplayError(RemoteProtocolError):
    """A msg1 whose timestamp is not newer than the last one accepted from that peer."""


class ProofError(RemoteProtocolError):
    """An identity proof that is malformed or whose signatures do not verify."""


class CryptoSupportError(HotlineError):
    """The installed ``cryptography`` cannot do ML-KEM-1024 or ML-DSA-87; the station won't start.

    This happens when pyca/cryptography is older than 48 or was built against an OpenSSL
    without the FIPS 203/204 algorithms (before 3.5). Hotline has one suite and no fallback.
    """

    exit_code = ExitCode.CRYPTO_UNSUPPORTED
