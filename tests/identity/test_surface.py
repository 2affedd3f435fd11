"""The public surfaces of hotline.identity and hotline.station (as trio tests its own)."""

from __future__ import annotations

import hotline.identity
import hotline.station


def _public(module: object) -> set[str]:
    return {name for name in vars(module) if not name.startswith("_")}


def test_identity_surface() -> None:
    assert _public(hotline.identity) == {
        "CARD_VERSION",
        "KDF_PROFILES",
        "LABEL_PEERS_MAC",
        "MAX_ADDRESSES",
        "MAX_PEERS_FILE_LEN",
        "PASSPHRASE_ENV",
        "Card",
        "CardError",
        "CardFormatError",
        "CardPostQuantumError",
        "CardSignatureError",
        "CardVersionError",
        "Fingerprint",
        "FingerprintMalformedError",
        "FingerprintMismatchError",
        "IdentityError",
        "KdfParams",
        "KeyFileCorruptError",
        "PairOutcome",
        "PairResult",
        "PassphraseUnavailableError",
        "Peer",
        "PeerConflictError",
        "PeerRegistry",
        "PeerUnknownError",
        "PeersFileError",
        "PublicKeys",
        "StationKeys",
        "UnlockedKeys",
        "WrongPassphraseError",
        "check_address",
        "check_station_name",
        "format_fingerprint",
        "line_id",
        "normalise_passphrase",
        "obtain_passphrase",
        "open_key_file",
        "parse_fingerprint",
        "seal_key_file",
    }


def test_station_surface() -> None:
    assert _public(hotline.station) == {
        "CONFIG_FILE",
        "CRASHPOINTS",
        "CRASH_EXIT_STATUS",
        "KEYS_FILE",
        "PEERS_FILE",
        "AlreadyRunningError",
        "ConfigError",
        "HomeMissingError",
        "HomeUnsafeError",
        "ListenError",
        "StationConfig",
        "StationExistsError",
        "StationHome",
        "UnlockedStation",
        "dumpable",
        "forbid_inspection",
        "serve",
    }


def test_every_error_has_a_distinct_exit_code() -> None:
    from hotline.errors import HotlineError

    errors = [
        value
        for module in (hotline.identity, hotline.station)
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, HotlineError)
    ]
    codes = {error: error.exit_code for error in errors if "exit_code" in vars(error)}
    assert len(set(codes.values())) == len(codes)
    assert all(code not in (0, 1, 2) for code in codes.values())
