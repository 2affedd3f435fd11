"""The station's store: SQLite in WAL mode with synchronous=FULL, schema by ``user_version``."""

from ._db import MIGRATIONS as MIGRATIONS
from ._db import SCHEMA_VERSION as SCHEMA_VERSION
from ._db import connect as connect
from ._errors import StoreError as StoreError
from ._store import HandshakeRecord as HandshakeRecord
from ._store import Store as Store
