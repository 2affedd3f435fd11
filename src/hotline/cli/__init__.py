"""The ``hotline`` command: a thin shell over the station (offline commands) and the local API."""

from ._app import app as app
from ._app import main as main
