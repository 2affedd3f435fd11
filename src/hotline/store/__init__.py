"""The station's store: SQLite in WAL mode with synchronous=FULL, schema by ``user_version``.

Texts are sealed at rest with a subkey of the data key (docs/record-format.md §12); the
daemon's message work runs in the store's own thread (:class:`StoreThread`): the operator's
outbox and inbox (:class:`Messages`) and delivery's durable steps (:class:`Chains`).
"""

from ._audit import Audit as Audit
from ._chains import Chains as Chains
from ._chains import LineBook as LineBook
from ._chains import Sequenced as Sequenced
from ._db import MIGRATIONS as MIGRATIONS
from ._db import SCHEMA_VERSION as SCHEMA_VERSION
from ._db import connect as connect
from ._errors import DuplicateKeyError as DuplicateKeyError
from ._errors import HaltedError as HaltedError
from ._errors import MessageUnknownError as MessageUnknownError
from ._errors import StoreCorruptError as StoreCorruptError
from ._errors import StoreError as StoreError
from ._errors import StoreWriteError as StoreWriteError
from ._message_items import AckReceived as AckReceived
from ._message_items import InboxMessage as InboxMessage
from ._message_items import OutboxMessage as OutboxMessage
from ._message_items import OutboxState as OutboxState
from ._message_items import Queued as Queued
from ._message_items import ToQueue as ToQueue
from ._messages import Messages as Messages
from ._record import RecordItems as RecordItems
from ._record import RecordWindow as RecordWindow
from ._sealing import LABEL_STORE_KEY as LABEL_STORE_KEY
from ._sealing import MESSAGE_ID_LEN as MESSAGE_ID_LEN
from ._sealing import RowCipher as RowCipher
from ._sealing import new_message_id as new_message_id
from ._sealing import outbox_ad as outbox_ad
from ._sealing import sequenced_ad as sequenced_ad
from ._store import HandshakeRecord as HandshakeRecord
from ._store import Store as Store
from ._thread import StoreThread as StoreThread
