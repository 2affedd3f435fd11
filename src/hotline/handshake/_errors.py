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


class StaleTimestampError(RemoteProtocolError):
    """A genuine msg1 whose timestamp is too far from our clock (``MSG1_MAX_AGE``/``_FUTURE``).

    Either the network held the msg1 back, or the two stations' clocks disagree by minutes.
    It has its own type so that the I/O layer can raise the clock alarm (DESIGN.md) instead of
    treating it as noise: the msg1 passed mac1 and decrypted, so a paired peer really made it.

    Attributes:
        timestamp: the msg1 timestamp, milliseconds since the Unix epoch.
        local_ms: our clock when we read it, in the same unit.
    """

    def __init__(self, timestamp: int, local_ms: int) -> None:
        self.timestamp = timestamp
        self.local_ms = local_ms
        offset = (timestamp - local_ms) / 1000
        where = "ahead of" if offset > 0 else "behind"
        super().__init__(f"msg1 timestamp is {abs(offset):.3f} s {where} our clock")


class ProofError(RemoteProtocolError):
    """An identity proof that is malformed or whose signatures do not verify."""


class CryptoSupportError(HotlineError):
    """The installed ``cryptography`` cannot do ML-KEM-1024 or ML-DSA-87; the station won't start.

    This happens when pyca/cryptography is older than 48 or was built against an OpenSSL
    without the FIPS 203/204 algorithms (before 3.5). Hotline has one suite and no fallback.
    """

    exit_code = ExitCode.CRYPTO_UNSUPPORTED
