"""The station: one office's installation: its home, its configuration, and its daemon."""

from ._config import ConfigError as ConfigError
from ._config import StationConfig as StationConfig
from ._crashpoints import CRASH_EXIT_STATUS as CRASH_EXIT_STATUS
from ._crashpoints import CRASHPOINTS as CRASHPOINTS
from ._daemon import AlreadyRunningError as AlreadyRunningError
from ._daemon import ListenError as ListenError
from ._daemon import serve as serve
from ._home import CONFIG_FILE as CONFIG_FILE
from ._home import KEYS_FILE as KEYS_FILE
from ._home import PEERS_FILE as PEERS_FILE
from ._home import HomeMissingError as HomeMissingError
from ._home import HomeUnsafeError as HomeUnsafeError
from ._home import StationExistsError as StationExistsError
from ._home import StationHome as StationHome
from ._home import UnlockedStation as UnlockedStation
from ._process import dumpable as dumpable
from ._process import forbid_inspection as forbid_inspection
