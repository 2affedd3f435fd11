"""The local API: the daemon's HTTP interface on 127.0.0.1, and its client.

The daemon builds the app with :func:`make_app` over a :class:`Control`; the CLI talks to it
with :class:`Client`, found through ``daemon.json`` and authenticated with ``api.token``.
"""

from ._app import make_app as make_app
from ._client import Client as Client
from ._errors import ApiError as ApiError
from ._errors import NotRunningError as NotRunningError
from ._files import DAEMON_FILE as DAEMON_FILE
from ._files import TOKEN_FILE as TOKEN_FILE
from ._files import DaemonInfo as DaemonInfo
from ._files import load_or_create_token as load_or_create_token
from ._files import read_token as read_token
from ._views import Control as Control
from ._views import LineView as LineView
from ._views import StationStatus as StationStatus
