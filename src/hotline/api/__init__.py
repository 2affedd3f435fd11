"""The local API: the daemon's HTTP interface on 127.0.0.1, and its client (docs/api.md).

The daemon builds the app with :func:`make_app` over a :class:`Control`; the CLI talks to it
with :class:`Client`, found through ``daemon.json`` and authenticated with ``api.token``.
"""

from ._app import RECORD_MEDIA_TYPE as RECORD_MEDIA_TYPE
from ._app import make_app as make_app
from ._client import Client as Client
from ._client import new_idempotency_key as new_idempotency_key
from ._errors import AlarmUnknownError as AlarmUnknownError
from ._errors import ApiError as ApiError
from ._errors import IdempotencyConflictError as IdempotencyConflictError
from ._errors import LineUnavailableError as LineUnavailableError
from ._errors import MalformedRequestError as MalformedRequestError
from ._errors import MessageUnknownError as MessageUnknownError
from ._errors import NotRunningError as NotRunningError
from ._errors import PeerUnknownError as PeerUnknownError
from ._errors import RequestInvalidError as RequestInvalidError
from ._errors import RequestTooLargeError as RequestTooLargeError
from ._errors import StoreUnavailableError as StoreUnavailableError
from ._errors import UnsupportedMediaTypeError as UnsupportedMediaTypeError
from ._files import DAEMON_FILE as DAEMON_FILE
from ._files import LOCK_FILE as LOCK_FILE
from ._files import TOKEN_FILE as TOKEN_FILE
from ._files import DaemonInfo as DaemonInfo
from ._files import load_or_create_token as load_or_create_token
from ._files import read_token as read_token
from ._openapi import OPENAPI as OPENAPI
from ._requests import MAX_BATCH_BODY as MAX_BATCH_BODY
from ._requests import MAX_BATCH_MESSAGES as MAX_BATCH_MESSAGES
from ._requests import MAX_IDEMPOTENCY_KEY_LEN as MAX_IDEMPOTENCY_KEY_LEN
from ._requests import MAX_REQUEST_BODY as MAX_REQUEST_BODY
from ._requests import check_idempotency_key as check_idempotency_key
from ._requests import check_message_id as check_message_id
from ._requests import check_note as check_note
from ._requests import check_operator as check_operator
from ._requests import check_peer as check_peer
from ._requests import check_precedence as check_precedence
from ._requests import check_text as check_text
from ._views import PRECEDENCES as PRECEDENCES
from ._views import AckRequest as AckRequest
from ._views import AckView as AckView
from ._views import AlarmView as AlarmView
from ._views import CheckpointView as CheckpointView
from ._views import Control as Control
from ._views import InboxView as InboxView
from ._views import LineView as LineView
from ._views import OutboxView as OutboxView
from ._views import QueuedView as QueuedView
from ._views import RecordQuery as RecordQuery
from ._views import ResumedView as ResumedView
from ._views import SendRequest as SendRequest
from ._views import SendResult as SendResult
from ._views import StationStatus as StationStatus
from ._views import format_time_ms as format_time_ms
