"""Every command, every refusal: one line on stderr, the documented exit code, nothing changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.cli import _terminal
from hotline.cli._options import WEAK_KDF_WARNING
from hotline.constants import LABEL_CARD
from hotline.errors import ExitCode
from hotline.identity import KDF_PROFILES, Card, StationKeys
from hotline.identity._armour import armour

from ..identity import spec
from .conftest import PASSPHRASE, Cli, card_file, fingerprint_of

COMMANDS = ["init", "card", "fingerprint", "pair", "peers", "unpair", "version"]


@pytest.fixture
def two(make_station: Callable[..., Path], cli: Cli, tmp_path: Path) -> tuple[Path, Path, Path]:
    """Jerusalem and Moscow stations, and Moscow's card file."""
    jerusalem = make_station("jerusalem", 7401)
    moscow = make_station("moscow", 7402)
    return jerusalem, moscow, card_file(cli, moscow, tmp_path / "moscow.card")


def _peers(cli: Cli, home: Path, *extra: str) -> list[dict[str, object]]:
    result = cli("--home", home, "peers", "--json", *extra)
    assert result.code == 0, result.err
    peers: list[dict[str, object]] = json.loads(result.out)
    return peers


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli: Cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    assert "Usage" in result.out


def test_root_help_lists_the_commands(cli: Cli) -> None:
    for args in ([], ["--help"]):
        result = cli(*args)
        assert result.code == 0
        assert all(command in result.out for command in COMMANDS)


def test_usage_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    for args in (
        ["frobnicate"],
        ["--home", tmp_path, "init", "--name", "Bad Name", "--listen", "1.2.3.4:5"],
        ["--home", tmp_path, "init", "--name", "x", "--listen", "nowhere"],
        ["--home", tmp_path, "init", "--name", "x"],
        ["--home", tmp_path, "peers", "--passphrase-fd", "-1"],
    ):
        result = cli(*args)
        assert result.code == ExitCode.USAGE
        assert result.error_line


def test_fingerprint_is_alone_on_the_last_line(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    _, moscow, moscow_card = two
    code = fingerprint_of(cli, moscow)
    assert code == str(Card.from_armour(moscow_card.read_text()).fingerprint)


def test_card_writes_only_the_card_to_stdout(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, _, _ = two
    result = cli("--home", jerusalem, "card")
    assert result.out.startswith("-----BEGIN HOTLINE CARD-----\n")
    assert result.out.endswith("-----END HOTLINE CARD-----\n")
    card = Card.from_armour(result.out)
    assert card.name == "jerusalem" and card.addresses == ("127.0.0.1:7401",)


def test_pair_with_fingerprint_then_unpair_then_pair_again(
    cli: Cli, two: tuple[Path, Path, Path]
) -> None:
    jerusalem, moscow, moscow_card = two
    code = fingerprint_of(cli, moscow)
    dashed = code.replace(" ", "-")
    assert cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", dashed).code == 0
    (peer,) = _peers(cli, jerusalem)
    assert peer["name"] == "moscow" and peer["fingerprint"] == code
    assert peer["revoked_at"] is None and peer["addresses"] == ["127.0.0.1:7402"]

    result = cli("--home", jerusalem, "unpair", "moscow")
    assert result.code == 0 and "refused" in result.out
    assert _peers(cli, jerusalem) == []
    (revoked,) = _peers(cli, jerusalem, "--all")
    assert revoked["revoked_at"] is not None

    assert cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", code).code == 0
    assert [p["revoked_at"] is None for p in _peers(cli, jerusalem, "--all")] == [False, True]


def test_pairing_the_same_card_twice_changes_nothing(
    cli: Cli, two: tuple[Path, Path, Path]
) -> None:
    jerusalem, moscow, moscow_card = two
    code = fingerprint_of(cli, moscow)
    cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", code)
    before = (jerusalem / "peers.json").read_bytes()
    result = cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", code)
    assert result.code == 0 and "nothing changed" in result.out
    assert (jerusalem / "peers.json").read_bytes() == before


def test_peers_human_listing(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, moscow, moscow_card = two
    assert cli("--home", jerusalem, "peers").out == "No paired stations.\n"
    code = fingerprint_of(cli, moscow)
    cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", code)
    (line,) = cli("--home", jerusalem, "peers").out.splitlines()
    assert line.startswith("moscow") and code in line and "127.0.0.1:7402" in line


# --- pair refusals -------------------------------------------------------------------------------


def _refused(cli: Cli, home: Path, card: Path, code: str, exit_code: int, *extra: str) -> str:
    before = (home / "peers.json").read_bytes()
    result = cli("--home", home, "pair", card, "--fingerprint", code, *extra)
    assert result.code == exit_code, result.err
    assert (home / "peers.json").read_bytes() == before
    return result.error_line


def test_pair_refuses_a_fingerprint_mismatch(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, _, moscow_card = two
    wrong = fingerprint_of(cli, jerusalem)
    line = _refused(cli, jerusalem, moscow_card, wrong, ExitCode.FINGERPRINT_MISMATCH)
    assert "does not match" in line


def test_pair_refuses_a_malformed_fingerprint(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, _, moscow_card = two
    _refused(cli, jerusalem, moscow_card, "12345 6789", ExitCode.FINGERPRINT_MALFORMED)


def test_pair_refuses_a_bad_self_signature(
    cli: Cli, two: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """An attacker swaps the X25519 key on the way; the armour checksum is recomputed."""
    jerusalem, moscow, moscow_card = two
    card = Card.from_armour(moscow_card.read_text())
    forged = bytearray(card.encode())
    forged[1 + 1 + len(card.name) + 2] ^= 0xFF  # first byte of the X25519 key
    path = tmp_path / "forged.card"
    path.write_text(armour(bytes(forged)))
    code = fingerprint_of(cli, moscow)
    line = _refused(cli, jerusalem, path, code, ExitCode.CARD_BAD_SIGNATURE)
    assert "self-signature" in line


def _crafted(tmp_path: Path, body: bytes, ed25519_sig: bytes, mldsa87_sig: bytes) -> Path:
    path = tmp_path / "crafted.card"
    path.write_text(armour(spec.card(body, ed25519_sig, mldsa87_sig)))
    return path


def test_pair_refuses_a_card_without_post_quantum_key(
    cli: Cli, two: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    jerusalem, _, _ = two
    keys = StationKeys.generate()
    body = spec.card_body(b"moscow", keys.public.x25519, keys.public.ed25519, b"", [])
    path = _crafted(tmp_path, body, keys.ed25519.sign(LABEL_CARD + body), b"")
    line = _refused(cli, jerusalem, path, "0" * 40, ExitCode.CARD_NO_POST_QUANTUM_KEY)
    assert "ML-DSA-87" in line


def test_pair_refuses_an_unknown_card_version(
    cli: Cli, two: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    jerusalem, _, _ = two
    keys = StationKeys.generate()
    public = keys.public
    body = spec.card_body(b"moscow", public.x25519, public.ed25519, public.mldsa87, [], version=2)
    path = _crafted(tmp_path, body, *keys.sign(LABEL_CARD, body))
    line = _refused(cli, jerusalem, path, "0" * 40, ExitCode.CARD_UNKNOWN_VERSION)
    assert "version 2" in line


def test_pair_refuses_a_damaged_armour(
    cli: Cli, two: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    jerusalem, moscow, moscow_card = two
    path = tmp_path / "damaged.card"
    path.write_text(moscow_card.read_text().replace("A", "B", 1))
    _refused(cli, jerusalem, path, fingerprint_of(cli, moscow), ExitCode.CARD_INVALID)
    path.write_bytes(b"\xff\xfe not a card")
    _refused(cli, jerusalem, path, fingerprint_of(cli, moscow), ExitCode.CARD_INVALID)


def test_pair_refuses_a_missing_card_file(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, _, _ = two
    line = _refused(cli, jerusalem, jerusalem / "nope.card", "0" * 40, ExitCode.INPUT_UNREADABLE)
    assert "nope.card" in line


def test_pair_refuses_a_name_paired_with_other_keys_unless_replace(
    cli: Cli, two: tuple[Path, Path, Path], make_station: Callable[..., Path], tmp_path: Path
) -> None:
    jerusalem, moscow, moscow_card = two
    cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", fingerprint_of(cli, moscow))
    impostor = make_station("moscow-2")
    (impostor / "station.toml").write_text(
        '[station]\nname = "moscow"\nlisten = ["10.6.6.6:7402"]\n'
    )
    impostor_card = card_file(cli, impostor, tmp_path / "impostor.card")
    code = fingerprint_of(cli, impostor)
    line = _refused(cli, jerusalem, impostor_card, code, ExitCode.PEER_CONFLICT)
    assert "already paired with other keys" in line and "--replace" in line

    result = cli("--home", jerusalem, "pair", impostor_card, "--fingerprint", code, "--replace")
    assert result.code == 0
    (warning,) = result.notices
    assert warning.startswith("warning: moscow was paired with other keys") and "revoked" in warning
    (active,) = _peers(cli, jerusalem)
    assert active["fingerprint"] == code and active["addresses"] == ["10.6.6.6:7402"]


def test_pair_refuses_the_stations_own_card(
    cli: Cli, two: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    jerusalem, _, _ = two
    own = card_file(cli, jerusalem, tmp_path / "own.card")
    _refused(cli, jerusalem, own, fingerprint_of(cli, jerusalem), ExitCode.PEER_CONFLICT)


def test_pair_without_fingerprint_needs_a_terminal(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, _, moscow_card = two
    result = cli("--home", jerusalem, "pair", moscow_card)
    assert result.code == ExitCode.NOT_INTERACTIVE
    assert "--fingerprint" in result.error_line


# --- interactive pairing -------------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pretend stdin is a terminal; the passphrases "typed" are popped from the returned list."""
    secrets: list[str] = []
    monkeypatch.setattr(_terminal, "stdin_is_interactive", lambda: True)
    monkeypatch.setattr(_terminal, "ask_secret", lambda question: secrets.pop(0))
    return secrets


def test_interactive_pair_makes_the_operator_type_the_code(
    cli: Cli, two: tuple[Path, Path, Path], terminal: list[str]
) -> None:
    jerusalem, moscow, moscow_card = two
    code = fingerprint_of(cli, moscow)
    result = cli("--home", jerusalem, "pair", moscow_card, stdin=code + "\n")
    assert result.code == 0, result.err
    assert "moscow" in result.err and "127.0.0.1:7402" in result.err
    shown = result.err + result.out
    assert code not in shown  # never shown: it must come from the other side
    assert code.replace(" ", "") not in shown.replace(" ", "")  # in no layout either
    assert [p["name"] for p in _peers(cli, jerusalem)] == ["moscow"]


def test_interactive_pair_refuses_a_wrong_code(
    cli: Cli, two: tuple[Path, Path, Path], terminal: list[str]
) -> None:
    jerusalem, _, moscow_card = two
    wrong = fingerprint_of(cli, jerusalem)
    result = cli("--home", jerusalem, "pair", moscow_card, stdin=wrong + "\n")
    assert result.code == ExitCode.FINGERPRINT_MISMATCH
    assert _peers(cli, jerusalem) == []
    result = cli("--home", jerusalem, "pair", moscow_card, stdin="y\n")
    assert result.code == ExitCode.FINGERPRINT_MALFORMED


def test_interactive_pair_aborted(
    cli: Cli, two: tuple[Path, Path, Path], terminal: list[str]
) -> None:
    jerusalem, _, moscow_card = two
    result = cli("--home", jerusalem, "pair", moscow_card, stdin="")
    assert result.code == ExitCode.INTERRUPTED
    assert _peers(cli, jerusalem) == []


def test_prompted_passphrase(cli: Cli, two: tuple[Path, Path, Path], terminal: list[str]) -> None:
    jerusalem, _, _ = two
    terminal.append(PASSPHRASE)
    assert cli("--home", jerusalem, "peers", env={"HOTLINE_PASSPHRASE": None}).code == 0
    terminal.append("not it")
    result = cli("--home", jerusalem, "peers", env={"HOTLINE_PASSPHRASE": None})
    assert result.code == ExitCode.WRONG_PASSPHRASE


def test_init_asks_for_the_passphrase_twice(cli: Cli, tmp_path: Path, terminal: list[str]) -> None:
    args = ("--home", tmp_path / "h", "init", "--name", "h", "--listen", "127.0.0.1:1")
    terminal.extend(["one", "two"])
    result = cli(*args, env={"HOTLINE_PASSPHRASE": None})
    assert result.code == ExitCode.PASSPHRASE_UNAVAILABLE
    assert "differ" in result.error_line
    assert not (tmp_path / "h").exists()
    terminal.extend(["same", "same"])
    assert cli(*args, env={"HOTLINE_PASSPHRASE": None}).code == 0
    result = cli("--home", tmp_path / "h", "card", env={"HOTLINE_PASSPHRASE": "same"})
    assert result.code == 0


# --- keys and peers at rest ----------------------------------------------------------------------


def test_wrong_passphrase(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, _, _ = two
    for command in ("card", "fingerprint", "peers"):
        result = cli("--home", jerusalem, command, env={"HOTLINE_PASSPHRASE": "guess"})
        assert result.code == ExitCode.WRONG_PASSPHRASE
        assert "wrong passphrase" in result.error_line


def test_passphrase_sources(cli: Cli, two: tuple[Path, Path, Path], tmp_path: Path) -> None:
    jerusalem, _, _ = two
    path = tmp_path / "pass"
    path.write_text(PASSPHRASE + "\n")
    result = cli(
        "--home", jerusalem, "peers", "--passphrase-file", path, env={"HOTLINE_PASSPHRASE": "guess"}
    )
    assert result.code == 0
    result = cli("--home", jerusalem, "peers", env={"HOTLINE_PASSPHRASE": None})
    assert result.code == ExitCode.NOT_INTERACTIVE
    result = cli("--home", jerusalem, "peers", "--passphrase-file", tmp_path / "none")
    assert result.code == ExitCode.PASSPHRASE_UNAVAILABLE


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "delete"])
def test_corrupted_key_file(cli: Cli, two: tuple[Path, Path, Path], damage: str) -> None:
    jerusalem, _, _ = two
    key_file = jerusalem / "keys.hkey"
    data = key_file.read_bytes()
    if damage == "truncate":
        key_file.write_bytes(data[:100])
    elif damage == "flip":
        key_file.write_bytes(data[:150] + bytes([data[150] ^ 1]) + data[151:])
    elif damage == "empty":
        key_file.write_bytes(b"")
    else:
        key_file.unlink()
    result = cli("--home", jerusalem, "card")
    assert result.code == ExitCode.KEY_FILE_CORRUPT
    assert "corrupted key file" in result.error_line


def test_no_private_key_bytes_in_the_home(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, moscow, moscow_card = two
    cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", fingerprint_of(cli, moscow))
    from hotline.identity import normalise_passphrase
    from hotline.station import StationHome

    station = StationHome.open(jerusalem).unlock(normalise_passphrase(PASSPHRASE))
    private = station.keys.private_bytes()
    secrets = [private[i : i + 32] for i in (0, 32, 64)] + [station.unlocked._data_key]
    for path in jerusalem.iterdir():
        content = path.read_bytes()
        for secret in secrets:
            for start in range(0, 32 - 8 + 1):
                assert secret[start : start + 8] not in content, path.name
            assert secret.hex().encode() not in content
        assert PASSPHRASE.encode() not in content


def test_tampered_peers_file(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    """Someone who can write the home but lacks the passphrase cannot un-revoke a pin."""
    jerusalem, moscow, moscow_card = two
    cli("--home", jerusalem, "pair", moscow_card, "--fingerprint", fingerprint_of(cli, moscow))
    cli("--home", jerusalem, "unpair", "moscow")
    peers_file = jerusalem / "peers.json"
    document = json.loads(peers_file.read_text())
    document["peers"][0]["revoked_at"] = None
    peers_file.write_text(json.dumps(document))
    for command in ("peers", "unpair moscow", "pair"):
        args = command.split()
        if command == "pair":
            args += [str(moscow_card), "--fingerprint", fingerprint_of(cli, moscow)]
        result = cli("--home", jerusalem, *args)
        assert result.code == ExitCode.PEERS_FILE_INVALID
        assert "integrity" in result.error_line


def test_unpair_unknown(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    jerusalem, _, _ = two
    result = cli("--home", jerusalem, "unpair", "washington")
    assert result.code == ExitCode.PEER_UNKNOWN
    assert "washington" in result.error_line


# --- weak key files ----------------------------------------------------------------------------


def test_every_unlock_of_a_weak_key_file_warns(cli: Cli, two: tuple[Path, Path, Path]) -> None:
    """A key file made with the test profile (as every station here is) is never silent."""
    jerusalem, moscow, moscow_card = two
    code = fingerprint_of(cli, moscow)
    for args in (
        ["card"],
        ["fingerprint"],
        ["peers"],
        ["pair", str(moscow_card), "--fingerprint", code],
        ["unpair", "moscow"],
    ):
        result = cli("--home", jerusalem, *args)
        assert result.code == 0, result.err
        assert result.err.splitlines().count(WEAK_KDF_WARNING) == 1, args
        assert WEAK_KDF_WARNING not in result.out
    wrong = cli("--home", jerusalem, "card", env={"HOTLINE_PASSPHRASE": "guess"})
    assert WEAK_KDF_WARNING not in wrong.err  # warned only once the file is open


def test_a_key_file_as_strong_as_the_strong_profile_does_not_warn(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judged against the strong profile (made cheap here, so the test stays fast)."""
    monkeypatch.setitem(KDF_PROFILES, "strong", KDF_PROFILES["test"])
    home = tmp_path / "h"
    init = ("--home", home, "init", "--name", "h", "--listen", "127.0.0.1:1")
    created = cli(*init, env={"HOTLINE_KDF_PROFILE": None})
    assert created.code == 0 and created.err == ""
    result = cli("--home", home, "card")
    assert result.code == 0 and result.err == ""


@pytest.mark.parametrize("from_env", [True, False])
def test_init_says_where_the_test_profile_came_from(
    cli: Cli, tmp_path: Path, from_env: bool
) -> None:
    """A stray HOTLINE_KDF_PROFILE in an operator's shell is named, so it can be found."""
    args = ["--home", tmp_path / "h", "init", "--name", "h", "--listen", "127.0.0.1:1"]
    if not from_env:
        args += ["--kdf-profile", "test"]
    result = cli(*args, env=None if from_env else {"HOTLINE_KDF_PROFILE": None})
    assert result.code == 0
    (warning,) = result.notices
    assert warning.startswith("warning: KDF profile 'test'")
    assert ("(from HOTLINE_KDF_PROFILE)" in warning) is from_env
