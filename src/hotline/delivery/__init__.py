"""Delivery: a line's messages moved exactly once, in order, signed (docs/protocol.md §4).

Sans-IO. The frames that carry the record inside a session, and the exchange that runs them.
"""

from ._checkpoints import CheckpointComplete as CheckpointComplete
from ._checkpoints import CheckpointDeclined as CheckpointDeclined
from ._checkpoints import CheckpointEvent as CheckpointEvent
from ._checkpoints import CheckpointResent as CheckpointResent
from ._checkpoints import Checkpoints as Checkpoints
from ._checkpoints import CosignWanted as CosignWanted
from ._checkpoints import CountersignWanted as CountersignWanted
from ._events import ChainsDisagree as ChainsDisagree
from ._events import Deliverable as Deliverable
from ._events import Event as Event
from ._events import FetchRequested as FetchRequested
from ._events import PeerRefused as PeerRefused
from ._events import ProtocolViolation as ProtocolViolation
from ._events import ReceiptAccepted as ReceiptAccepted
from ._events import Recovered as Recovered
from ._events import Refuse as Refuse
from ._events import Resync as Resync
from ._events import Synced as Synced
from ._exchange import Exchange as Exchange
from ._exchange import StoredHash as StoredHash
from ._frames import DELIVERY_FRAMES as DELIVERY_FRAMES
from ._frames import CheckpointCosign as CheckpointCosign
from ._frames import CheckpointCountersign as CheckpointCountersign
from ._frames import CheckpointProposal as CheckpointProposal
from ._frames import CheckpointResend as CheckpointResend
from ._frames import Envelopes as Envelopes
from ._frames import Fetch as Fetch
from ._frames import HeadFrame as HeadFrame
from ._frames import NackFrame as NackFrame
from ._frames import ReceiptFrame as ReceiptFrame
from ._frames import Sync as Sync
from ._frames import pack_envelopes as pack_envelopes
