"""The Hotline handshake: Noise KKhfs with mac1, timestamps and post-quantum identity proofs.

Sans-IO: bytes and the wall-clock ``now`` in, bytes and results out. The exact construction is
written down in ``docs/protocol.md`` §2.
"""

from hotline.noise import LocalProtocolError as LocalProtocolError
from hotline.noise import RemoteProtocolError as RemoteProtocolError

from ._errors import CryptoSupportError as CryptoSupportError
from ._errors import ProofError as ProofError
from ._errors import ReplayError as ReplayError
from ._errors import StaleTimestampError as StaleTimestampError
from ._errors import UnknownPeerError as UnknownPeerError
from ._handshake import Established as Established
from ._handshake import Initiator as Initiator
from ._handshake import KatHooks as KatHooks
from ._handshake import Responder as Responder
from ._handshake import Stage as Stage
from ._keys import LocalCredentials as LocalCredentials
from ._keys import PeerKeys as PeerKeys
from ._keys import check_crypto_support as check_crypto_support
from ._mac1 import PairedPeer as PairedPeer
from ._mac1 import PeerTable as PeerTable
from ._mac1 import mac1 as mac1
from ._mac1 import mac1_key as mac1_key
from ._proof import Role as Role
from ._proof import proof_message as proof_message
from ._suite import PROTOCOL as PROTOCOL
from ._suite import preferred_initiator as preferred_initiator
from ._suite import prologue as prologue
from ._timestamps import next_timestamp as next_timestamp
