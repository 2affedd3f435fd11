"""Sans-IO Noise Protocol Framework (revision 34) with the ``hfs`` KEM modifier.

Only re-exports live here; each private module does one job:
``_hash`` (HASH/HMAC/HKDF), ``_cipher`` (AEADs and nonces), ``_cipherstate``, ``_symmetric``,
``_dh``, ``_kem``, ``_patterns``, ``_protocol`` (names), ``_handshake`` (the state machine).
"""

from ._cipherstate import CipherState as CipherState
from ._constants import MAX_MESSAGE_LEN as MAX_MESSAGE_LEN
from ._errors import DecryptError as DecryptError
from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import NoiseError as NoiseError
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._errors import UnsupportedProtocolError as UnsupportedProtocolError
from ._handshake import HandshakeState as HandshakeState
from ._handshake import HandshakeStatus as HandshakeStatus
from ._handshake import TransportState as TransportState
from ._kem import MLKEM768 as MLKEM768
from ._kem import MLKEM1024 as MLKEM1024
from ._kem import Kem as Kem
from ._kem import KemKeyPair as KemKeyPair
from ._patterns import HandshakePattern as HandshakePattern
from ._patterns import Token as Token
from ._protocol import NoiseProtocol as NoiseProtocol
