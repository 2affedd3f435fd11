"""The vector runner on the official cacophony vectors and on our frozen hfs vectors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hotline.noise.vectors import Outcome, VectorResult, main, run_file
from tests.conftest import NOISE_VECTORS

CACOPHONY = NOISE_VECTORS / "cacophony.txt"
HFS_KAT = Path(__file__).parent / "data" / "hfs_kat.json"
Edit = Callable[[dict[str, Any]], None]
SUMMARY = re.compile(r"(\d+) passed, (\d+) failed, (\d+) skipped")

BASIC_PATTERNS = {"N", "K", "X", "NN", "NK", "NX", "KN", "KK", "KX", "XN", "XK", "XX", "IN"}
BASIC_PATTERNS |= {"IK", "IX"}


@pytest.fixture(scope="module")
def cacophony() -> list[VectorResult]:
    return run_file(CACOPHONY)


def split_pattern(protocol_name: str) -> tuple[str, str]:
    """``Noise_XXpsk3_25519_...`` → (``XX``, ``psk3``)."""
    match = re.fullmatch(r"([A-Z0-9]+)(.*)", protocol_name.split("_")[1])
    assert match is not None
    return match.group(1), match.group(2)


def test_cacophony_has_no_failures(cacophony: list[VectorResult]) -> None:
    failures = [r for r in cacophony if r.outcome is Outcome.FAILED]
    assert failures == []
    assert len(cacophony) == len(json.loads(CACOPHONY.read_text())["vectors"])


def test_every_25519_basic_and_psk_vector_passes(cacophony: list[VectorResult]) -> None:
    basic: list[VectorResult] = []
    psk: list[VectorResult] = []
    for result in cacophony:
        base, modifiers = split_pattern(result.protocol_name)
        if result.protocol_name.split("_")[2] != "25519" or base not in BASIC_PATTERNS:
            continue
        (psk if modifiers else basic).append(result)
    # README: for 25519 every handshake has 8 vectors; 15 basic patterns, 21 psk patterns.
    assert len(basic) == 15 * 8
    assert len(psk) == 21 * 8
    assert {split_pattern(r.protocol_name)[0] for r in basic} == BASIC_PATTERNS
    assert all(r.outcome is Outcome.PASSED for r in basic + psk)


def test_only_deferred_patterns_are_skipped(cacophony: list[VectorResult]) -> None:
    for result in cacophony:
        deferred = "1" in split_pattern(result.protocol_name)[0]
        assert (result.outcome is Outcome.SKIPPED) == deferred, result
        if deferred:
            assert "deferred" in result.reason


def test_448_vectors_pass(cacophony: list[VectorResult]) -> None:
    curve448 = [
        r for r in cacophony if "_448_" in r.protocol_name and r.outcome is not Outcome.SKIPPED
    ]
    assert curve448 and all(r.outcome is Outcome.PASSED for r in curve448)


def test_hfs_known_answers() -> None:
    results = run_file(HFS_KAT)
    assert len(results) == 6
    assert all(r.outcome is Outcome.PASSED for r in results), results
    assert {r.protocol_name for r in results} >= {"Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512"}


# --- The runner itself: it must fail when the vectors disagree -------------------------------


def write_variant(tmp_path: Path, source: Path, edit: Edit, index: int = 0) -> Path:
    document = json.loads(source.read_text())
    vector = document["vectors"][index]
    edit(vector)
    document["vectors"] = [vector]
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(document))
    return path


def flip_hex(text: str, position: int = 0) -> str:
    return text[:position] + format(int(text[position], 16) ^ 1, "x") + text[position + 1 :]


@pytest.mark.parametrize(
    "edit",
    [
        lambda v: v["messages"][0].update(ciphertext=flip_hex(v["messages"][0]["ciphertext"])),
        lambda v: v["messages"][1].update(ciphertext=flip_hex(v["messages"][1]["ciphertext"])),
        lambda v: v["messages"][4].update(ciphertext=flip_hex(v["messages"][4]["ciphertext"])),
        lambda v: v["messages"][5].update(payload=flip_hex(v["messages"][5]["payload"])),
        lambda v: v.update(handshake_hash=flip_hex(v["handshake_hash"])),
        lambda v: v.update(init_prologue="00"),
        lambda v: v.update(messages=v["messages"][:1]),
    ],
)
def test_runner_reports_a_disagreeing_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Edit
) -> None:
    path = write_variant(tmp_path, CACOPHONY, edit)
    assert main([str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "0 passed, 1 failed, 0 skipped"
    assert lines[0].startswith("FAIL Noise_")


@pytest.mark.parametrize("field", ["resp_kem_shared_secret", "resp_kem_ciphertext", "init_e1_seed"])
def test_runner_checks_the_kem_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    path = write_variant(tmp_path, HFS_KAT, lambda v: v.update({field: flip_hex(v[field], 1)}))
    assert main([str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "0 passed, 1 failed, 0 skipped"


def test_unsupported_vector_keys_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_variant(tmp_path, CACOPHONY, lambda v: v.update(fallback=True))
    assert main([str(path)]) == 0
    assert capsys.readouterr().out == "0 passed, 0 failed, 1 skipped\n"


@pytest.mark.parametrize(
    "content",
    [
        None,  # missing file
        "not json",
        "[]",
        '{"vectors": [42]}',
        '{"vectors": [{"protocol_name": "Noise_NN_25519_AESGCM_SHA256"}]}',
        '{"vectors": [{"protocol_name": "Noise_NN_25519_AESGCM_SHA256", "messages": [{}]}]}',
        '{"vectors": [{"protocol_name": "N", "init_ephemeral": "zz", "messages": []}]}',
        '{"vectors": [{"protocol_name": "N", "init_psks": "00", "messages": []}]}',
    ],
)
def test_format_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    path = tmp_path / "vectors.json"
    if content is not None:
        path.write_text(content)
    assert main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1


def test_command_line(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "hotline.noise.vectors", str(CACOPHONY), str(HFS_KAT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    last = SUMMARY.fullmatch(ok.stdout.splitlines()[-1])
    assert last is not None and last.group(2) == "0"
    missing = subprocess.run(
        [sys.executable, "-m", "hotline.noise.vectors", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr and missing.stderr.count("\n") == 1
