"""Lines: the asyncio layer that keeps one authenticated session with every paired peer.

Thin over the sans-IO session (:mod:`hotline.session`): an adapter per TCP stream, a listener
with the pre-authentication limits, and a line per peer that dials with backoff, settles
crossing dials, watches heartbeats (the sans-IO :class:`PathHealth`) and persists the handshake
timestamps. ``docs/line.md`` describes the behaviour.
"""

from ._adapter import SessionOwner as SessionOwner
from ._adapter import SessionProtocol as SessionProtocol
from ._address import format_address as format_address
from ._address import split_address as split_address
from ._backoff import BACKOFF_BASE as BACKOFF_BASE
from ._backoff import Backoff as Backoff
from ._health import LOSS_WINDOW as LOSS_WINDOW
from ._health import OFFSET_SAMPLES as OFFSET_SAMPLES
from ._health import PROBE_WAIT_MAX as PROBE_WAIT_MAX
from ._health import PathHealth as PathHealth
from ._health import PathReport as PathReport
from ._health import PathState as PathState
from ._line import CROSSING_WINDOW as CROSSING_WINDOW
from ._line import Ledger as Ledger
from ._line import Line as Line
from ._line import LinePeer as LinePeer
from ._line import LineState as LineState
from ._line import LineStatus as LineStatus
from ._line import SessionObserver as SessionObserver
from ._listener import Listener as Listener
from ._ratelimit import RateLimiter as RateLimiter
from ._ratelimit import Verdict as Verdict
from ._refusals import RefusalLog as RefusalLog
from ._timing import LineTiming as LineTiming
from ._wall import shift_for_testing as shift_for_testing
from ._wall import wall_time as wall_time
