"""The public surface of hotline.record, its error table, and the labels it relies on."""

from __future__ import annotations

import inspect

import pytest

import hotline.constants
import hotline.record
from hotline.errors import HotlineError
from hotline.record import NackReason, RecordError, RejectionError


def test_record_surface() -> None:
    assert {name for name in vars(hotline.record) if not name.startswith("_")} == {
        "CHAIN_HEAD_LEN",
        "CHECKPOINT_BODY_LEN",
        "CHECKPOINT_LEN",
        "ENVELOPE_HEADER_LEN",
        "GENESIS",
        "MAX_CHECKPOINT_NUMBER",
        "MAX_BODY_LEN",
        "MAX_ENVELOPE_LEN",
        "MAX_NACK_LEN",
        "MAX_TIME_MS",
        "RECEIPT_LEN",
        "ZERO_HASH",
        "AckBody",
        "BadSignatureError",
        "Body",
        "BodyMismatchError",
        "BrokenChainError",
        "ChainHaltedError",
        "ChainHead",
        "ChainRef",
        "ChainState",
        "ChainValidator",
        "ChainWriter",
        "Checkpoint",
        "CheckpointBody",
        "CrossLinkError",
        "Direction",
        "Envelope",
        "EnvelopeHeader",
        "EquivocationError",
        "GapError",
        "HashLookup",
        "HeadMismatchError",
        "Kind",
        "MalformedError",
        "MessageBody",
        "Nack",
        "NackReason",
        "Precedence",
        "Receipt",
        "RecordError",
        "RejectionError",
        "Signer",
        "Statement",
        "Subject",
        "UncoveredError",
        "UnknownValueError",
        "UnknownVersionError",
        "WrongLineError",
        "check_cross_link",
        "clock_agrees",
        "direction_of",
        "receipt_time_plausible",
        "record_hash",
        "send_time_plausible",
        "EXPORT_MAGIC",
        "MAX_EXPORT_FILE_LEN",
        "MAX_EXPORT_ITEM_LEN",
        "STATEMENT_MAGIC",
        "ExportItem",
        "ExportRange",
        "ItemType",
        "Span",
        "decode_body",
        "decode_item",
        "encode_export",
        "split_export",
        "vouched_tops",
        "Finding",
        "Reason",
        "RecordReport",
        "StatementFile",
        "check_record",
    }


def test_every_nack_reason_has_exactly_one_error_class() -> None:
    classes = [
        value
        for value in vars(hotline.record).values()
        if inspect.isclass(value)
        and issubclass(value, RejectionError)
        and value is not RejectionError
    ]
    reasons = [cls.reason for cls in classes]
    assert sorted(reasons) == sorted(NackReason)
    assert all(issubclass(cls, RecordError) and issubclass(cls, HotlineError) for cls in classes)


def test_labels_are_distinct_and_none_is_a_prefix_of_another() -> None:
    labels = [value for name, value in vars(hotline.constants).items() if name.startswith("LABEL_")]
    assert len(set(labels)) == len(labels)
    for a in labels:
        for b in labels:
            assert a == b or not b.startswith(a), (a, b)
    assert hotline.constants.LABEL_NACK == b"hotline/1 nack"


def test_direction_follows_the_fingerprint_order() -> None:
    low, high = bytes(63) + b"\x01", b"\x01" + bytes(63)
    assert hotline.record.direction_of(low, high) is hotline.record.Direction.FIRST
    assert hotline.record.direction_of(high, low) is hotline.record.Direction.SECOND
    assert hotline.record.Direction.FIRST.other is hotline.record.Direction.SECOND
    with pytest.raises(ValueError, match="two different"):
        hotline.record.direction_of(low, low)
