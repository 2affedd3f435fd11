"""The one error type the operator ever sees.

Every failure that reaches the command line is a :class:`HotlineError`: one clear line and a
distinct exit code, never a traceback. Each package subclasses it with its own codes.
"""

from __future__ import annotations

import enum


class HotlineError(Exception):
    """A failure explained to the operator in one line.

    Attributes:
        exit_code: the process exit status the CLI uses for this failure (never 0).
    """

    exit_code: int = 1


class ExitCode(enum.IntEnum):
    """Every exit status of the ``hotline`` command, in one table (the README lists it too).

    Scripts branch on these, so a value never changes meaning once released. 1 is a failure
    with no more specific code, 2 a command-line usage error (as click reports it), 70 an
    internal error (a bug), 74 an operating-system I/O error, 130 an interrupt.
    """

    FAILURE = 1
    USAGE = 2
    # --- the station home ----------------------------------------------------------------------
    HOME_MISSING = 10
    HOME_UNSAFE = 11
    STATION_EXISTS = 12
    CONFIG_INVALID = 13
    INPUT_UNREADABLE = 14
    NOT_INTERACTIVE = 15
    # --- keys at rest --------------------------------------------------------------------------
    WRONG_PASSPHRASE = 20
    KEY_FILE_CORRUPT = 21
    PASSPHRASE_UNAVAILABLE = 22
    # --- cards, fingerprints, pairing ----------------------------------------------------------
    CARD_INVALID = 30
    CARD_BAD_SIGNATURE = 31
    CARD_UNKNOWN_VERSION = 32
    CARD_NO_POST_QUANTUM_KEY = 33
    FINGERPRINT_MISMATCH = 34
    FINGERPRINT_MALFORMED = 35
    PEER_CONFLICT = 36
    PEER_UNKNOWN = 37
    PEERS_FILE_INVALID = 38
    # --- the running station (serve, status) ---------------------------------------------------
    STORE_UNUSABLE = 40
    LISTEN_FAILED = 41
    ALREADY_RUNNING = 42
    NOT_RUNNING = 43
    API_FAILED = 44
    # --- messages (send, outbox, inbox) --------------------------------------------------------
    STORE_FAILED = 45
    IDEMPOTENCY_CONFLICT = 46
    REQUEST_INVALID = 47
    #: the line is not up, or the peer did not answer in time (``checkpoint``).
    LINE_UNAVAILABLE = 48
    #: no received message has that id (``ack``).
    MESSAGE_UNKNOWN = 49
    #: no alarm has that number (``alarms ack``).
    ALARM_UNKNOWN = 51
    # --- the record ----------------------------------------------------------------------------
    #: a record (envelope, receipt, checkpoint, export) fails to decode or verify.
    RECORD_INVALID = 50
    # --- generic -------------------------------------------------------------------------------
    #: pyca/cryptography cannot do ML-KEM-1024 or ML-DSA-87 here (sysexits EX_UNAVAILABLE).
    CRYPTO_UNSUPPORTED = 69
    INTERNAL = 70
    IO_ERROR = 74
    INTERRUPTED = 130
