"""The record of a line: envelopes, chain heads, receipts, NACKs, checkpoints, statements.

Sans-IO: everything here takes and returns bytes and objects, and reads no clock (times are
integer UTC milliseconds passed in). It imports nothing of the station's identity either, so a
record verifies with nothing but the two cards' public keys
(:class:`hotline.signatures.VerifyKeys`).
The format is specified in docs/record-format.md.
"""

from ._body import MAX_BODY_LEN as MAX_BODY_LEN
from ._body import AckBody as AckBody
from ._body import Body as Body
from ._body import MessageBody as MessageBody
from ._body import decode_body as decode_body
from ._buffer import MAX_TIME_MS as MAX_TIME_MS
from ._chain import ChainWriter as ChainWriter
from ._chain import HashLookup as HashLookup
from ._chain import check_cross_link as check_cross_link
from ._checkpoint import CHECKPOINT_BODY_LEN as CHECKPOINT_BODY_LEN
from ._checkpoint import CHECKPOINT_LEN as CHECKPOINT_LEN
from ._checkpoint import MAX_CHECKPOINT_NUMBER as MAX_CHECKPOINT_NUMBER
from ._checkpoint import Checkpoint as Checkpoint
from ._checkpoint import CheckpointBody as CheckpointBody
from ._clock import clock_agrees as clock_agrees
from ._clock import receipt_time_plausible as receipt_time_plausible
from ._clock import send_time_plausible as send_time_plausible
from ._codes import Direction as Direction
from ._codes import Kind as Kind
from ._codes import NackReason as NackReason
from ._codes import Precedence as Precedence
from ._codes import Subject as Subject
from ._codes import direction_of as direction_of
from ._envelope import ENVELOPE_HEADER_LEN as ENVELOPE_HEADER_LEN
from ._envelope import MAX_ENVELOPE_LEN as MAX_ENVELOPE_LEN
from ._envelope import Envelope as Envelope
from ._envelope import EnvelopeHeader as EnvelopeHeader
from ._errors import BadSignatureError as BadSignatureError
from ._errors import BodyMismatchError as BodyMismatchError
from ._errors import BrokenChainError as BrokenChainError
from ._errors import ChainHaltedError as ChainHaltedError
from ._errors import CrossLinkError as CrossLinkError
from ._errors import EquivocationError as EquivocationError
from ._errors import GapError as GapError
from ._errors import HeadMismatchError as HeadMismatchError
from ._errors import MalformedError as MalformedError
from ._errors import RecordError as RecordError
from ._errors import RejectionError as RejectionError
from ._errors import UncoveredError as UncoveredError
from ._errors import UnknownValueError as UnknownValueError
from ._errors import UnknownVersionError as UnknownVersionError
from ._errors import WrongLineError as WrongLineError
from ._export import EXPORT_MAGIC as EXPORT_MAGIC
from ._export import MAX_EXPORT_FILE_LEN as MAX_EXPORT_FILE_LEN
from ._export import MAX_EXPORT_ITEM_LEN as MAX_EXPORT_ITEM_LEN
from ._export import ExportItem as ExportItem
from ._export import ExportRange as ExportRange
from ._export import ItemType as ItemType
from ._export import Span as Span
from ._export import decode_item as decode_item
from ._export import encode_export as encode_export
from ._export import split_export as split_export
from ._export import vouched_tops as vouched_tops
from ._hashing import GENESIS as GENESIS
from ._hashing import ZERO_HASH as ZERO_HASH
from ._hashing import ChainRef as ChainRef
from ._hashing import record_hash as record_hash
from ._head import CHAIN_HEAD_LEN as CHAIN_HEAD_LEN
from ._head import ChainHead as ChainHead
from ._nack import MAX_NACK_LEN as MAX_NACK_LEN
from ._nack import Nack as Nack
from ._receipt import RECEIPT_LEN as RECEIPT_LEN
from ._receipt import Receipt as Receipt
from ._report import Finding as Finding
from ._report import Reason as Reason
from ._report import RecordReport as RecordReport
from ._signed import Signer as Signer
from ._statement import Statement as Statement
from ._statement_file import STATEMENT_MAGIC as STATEMENT_MAGIC
from ._statement_file import StatementFile as StatementFile
from ._validator import ChainState as ChainState
from ._validator import ChainValidator as ChainValidator
from ._verify import check_record as check_record
