"""The store's one error: the database cannot be used as the reliability contract requires."""

from __future__ import annotations

from hotline.errors import ExitCode, HotlineError


class StoreError(HotlineError):
    """``hotline.db`` cannot be opened, made durable, or migrated; the station does not start."""

    exit_code = ExitCode.STORE_UNUSABLE
