"""The store's errors: each is one line for the operator, and says whether anything was written.

A failed write never leaves half a row: every method is one transaction, rolled back on any
error, so "nothing was written" in these messages is a promise the code keeps, and what was
committed before (queued messages) is still there.
"""

from __future__ import annotations

from hotline.errors import ExitCode, HotlineError


class StoreError(HotlineError):
    """``hotline.db`` cannot be opened, made durable, migrated, read or written."""

    exit_code = ExitCode.STORE_UNUSABLE


class StoreWriteError(StoreError):
    """A write failed (full disk, read-only file system or database, I/O error): rolled back."""


class StoreCorruptError(StoreError):
    """An encrypted row does not decrypt: altered, moved to another row, or another key's."""


class DuplicateKeyError(StoreError):
    """An idempotency key already names another message (other peer, text or precedence)."""


class MessageUnknownError(StoreError):
    """No received message has that id."""


class HaltedError(StoreError):
    """A direction is halted after a NACK: nothing is stored in it until an operator resumes."""
