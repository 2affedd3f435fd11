"""Hotline sessions: one connection per stream, sans-IO, from msg1 to CLOSE.

Handshake flights and proofs, typed frames inside the transport, in-band rekey with a marked
key switch. The wire format is in ``docs/protocol.md`` §3.
"""

from hotline.noise import LocalProtocolError as LocalProtocolError
from hotline.noise import RemoteProtocolError as RemoteProtocolError

from ._acceptor import Acceptor as Acceptor
from ._acceptor import Identified as Identified
from ._acceptor import Rejected as Rejected
from ._connection import Connection as Connection
from ._connection import ConnectionState as ConnectionState
from ._errors import FrameError as FrameError
from ._errors import Msg1FloodError as Msg1FloodError
from ._events import ConnectionTerminated as ConnectionTerminated
from ._events import Event as Event
from ._events import FrameReceived as FrameReceived
from ._events import PingReceived as PingReceived
from ._events import PongReceived as PongReceived
from ._events import SessionEstablished as SessionEstablished
from ._events import TimestampAccepted as TimestampAccepted
from ._events import TimestampSent as TimestampSent
from ._frames import SESSION_FRAMES as SESSION_FRAMES
from ._frames import Close as Close
from ._frames import CloseReason as CloseReason
from ._frames import Data as Data
from ._frames import Flight as Flight
from ._frames import Frame as Frame
from ._frames import FrameCodec as FrameCodec
from ._frames import FrameReader as FrameReader
from ._frames import Hello as Hello
from ._frames import Ping as Ping
from ._frames import Pong as Pong
from ._frames import Rekey as Rekey
from ._frames import Switch as Switch
from ._handshakes import SessionConfig as SessionConfig
from ._timestamps import PeerTimestamps as PeerTimestamps
from ._timing import MIN_REKEY_AFTER as MIN_REKEY_AFTER
from ._timing import SessionTiming as SessionTiming
from ._wire import with_length as with_length
