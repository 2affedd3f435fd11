"""Test harness shared by Hotline's tests: a fault-injecting TCP proxy, a virtual clock, and
import-layering checks. See README.md in this directory."""

from .clock import MAX_FIRINGS as MAX_FIRINGS
from .clock import Firing as Firing
from .clock import TimerDriven as TimerDriven
from .clock import VirtualClock as VirtualClock
from .faultproxy import DEFAULT_MAX_BUFFER as DEFAULT_MAX_BUFFER
from .faultproxy import DirectionStats as DirectionStats
from .faultproxy import FaultProxy as FaultProxy
from .faultproxy import ProxyStats as ProxyStats
from .faultproxy import ThreadedFaultProxy as ThreadedFaultProxy
from .layering import IO_MODULES as IO_MODULES
from .layering import OUTER_LAYERS as OUTER_LAYERS
from .layering import runtime_violations as runtime_violations
from .layering import static_violations as static_violations
from .modes import Bandwidth as Bandwidth
from .modes import Blackhole as Blackhole
from .modes import Corrupt as Corrupt
from .modes import Delay as Delay
from .modes import Direction as Direction
from .modes import Drop as Drop
from .modes import Mode as Mode
from .modes import Pass as Pass
from .modes import Refuse as Refuse
from .modes import Stall as Stall
