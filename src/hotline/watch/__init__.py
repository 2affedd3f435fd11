"""The watch over the lines: alarms, the rules that raise them, and our clock's state.

Sans-IO like the protocol packages (times come in as integer UTC ms), except
:func:`clock_synchronised`, which asks the kernel. The daemon feeds observations and events,
announces what the :class:`AlarmBoard` returns and runs the hooks.
"""

from ._alarms import DEFAULT_LEVELS as DEFAULT_LEVELS
from ._alarms import MAX_OPERATOR_LEN as MAX_OPERATOR_LEN
from ._alarms import MAX_TEXT_LEN as MAX_TEXT_LEN
from ._alarms import Alarm as Alarm
from ._alarms import AlarmBoard as AlarmBoard
from ._alarms import AlarmKind as AlarmKind
from ._alarms import AlarmLevel as AlarmLevel
from ._alarms import LineWatch as LineWatch
from ._alarms import UnknownAlarmError as UnknownAlarmError
from ._clock import clock_synchronised as clock_synchronised
from ._escalations import Awaiting as Awaiting
from ._escalations import Escalations as Escalations
