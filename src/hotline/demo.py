"""``python -m hotline.demo`` (``make demo``): two stations on this machine, and the line up.

In a temporary folder: two stations are created (cheap test KDF), exchange cards, pair by
fingerprint, and serve on loopback as two real ``hotline serve`` processes. The demo waits for
the line, shows ``hotline status`` from both sides, sends messages both ways (Hebrew, Russian,
English, with precedences) and shows them received and receipted, waits for an in-band rekey
(the stations run with ``[testing] rekey_after_s``, so a rekey comes every few seconds instead
of every two minutes, and the daemons say so loudly), then stops both with SIGTERM and shows
their last log lines. It ends with the Noise conformance summary. Every command it runs is
printed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotline.api import Client
from hotline.errors import HotlineError
from hotline.noise import vectors
from hotline.verify import verify_export

#: The project sits beside ``shared/`` (see shared/README.md): src/hotline/demo.py → repo root.
CACOPHONY = Path(__file__).resolve().parents[2].parent / "shared/vectors/noise/cacophony.txt"
HOTLINE = [sys.executable, "-m", "hotline.cli"]
#: Rekey every 3 s (instead of 120 s) so that the demo shows one.
REKEY_AFTER = 3.0
STATIONS = ("jerusalem", "moscow")
#: Generous for a loaded machine: the line is normally up in well under a second.
TIMEOUT = 20.0


class DemoError(Exception):
    """Something the demo waited for did not happen."""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_KDF_PROFILE"] = "test"  # cheap Argon2id: a demo, not a real station
    env["HOTLINE_PASSPHRASE"] = "demo passphrase"  # noqa: S105 (a throwaway demo station)
    return env


def _run(*args: str | Path, quiet: bool = False) -> str:
    shown = " ".join(str(a) if " " not in str(a) else repr(str(a)) for a in args)
    print(f"$ hotline {shown}")
    result = subprocess.run(
        [*HOTLINE, *map(str, args)],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise DemoError(result.stderr.strip())
    if not quiet:
        for line in result.stdout.splitlines():
            print(f"  {line}")
    return result.stdout


def _wait(what: str, predicate: Callable[[], bool]) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > TIMEOUT:
            raise DemoError(f"{what}: not within {TIMEOUT:g} s")
        time.sleep(0.05)
    return time.monotonic() - start


def _line(home: Path) -> dict[str, Any] | None:
    try:
        lines = Client.for_home(home, timeout=2.0).status()["lines"]
    except HotlineError:
        return None
    return lines[0] if lines else None


def _free() -> int:
    """A port the kernel just chose as free on loopback.

    Never a fixed port: two demos (or test runs) at once would collide. The card carries the
    address, so the port must be known before ``serve``; the window between releasing it here
    and the station binding it is small, and a clash fails loudly rather than silently.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free: int = sock.getsockname()[1]
        return free


def _stations(root: Path) -> list[Path]:
    print("1. Two offices create their stations and exchange cards by courier.")
    homes = []
    for name in STATIONS:
        home = root / name
        _run("--home", home, "init", "--name", name, "--listen", f"127.0.0.1:{_free()}")
        (root / f"{name}.card").write_text(_run("--home", home, "card", quiet=True))
        homes.append(home)
    print("\n2. Each operator reads the other the fingerprint by phone; each pairs by it.")
    for home, other in ((homes[0], homes[1]), (homes[1], homes[0])):
        code = _run("--home", other, "fingerprint", quiet=True).splitlines()[-1]
        _run("--home", home, "pair", root / f"{other.name}.card", "--fingerprint", code)
    for home in homes:
        with (home / "station.toml").open("a") as stream:
            stream.write(f"\n[testing]\nrekey_after_s = {REKEY_AFTER}\n")
    print(
        f"\n   (demo only: station.toml gets [testing] rekey_after_s = {REKEY_AFTER:g}, so the"
        " line rekeys every few seconds instead of every 120 s)"
    )
    return homes


def _serve(homes: list[Path]) -> list[subprocess.Popen[bytes]]:
    print("\n3. Both stations serve on loopback.")
    processes = []
    for home in homes:
        print(f"$ hotline --home {home} serve &")
        with (home.parent / f"{home.name}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [*HOTLINE, "--home", str(home), "serve"],
                    env=_environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
    return processes


def _show(homes: list[Path]) -> None:
    took = _wait(
        "the line up on both sides",
        lambda: all((line := _line(h)) is not None and line["state"] == "up" for h in homes),
    )
    print(f"\n4. The line is up ({took:.2f} s after start). Each side's view:")
    for home in homes:
        _run("--home", home, "status")
    _run("--home", homes[1], "status", "--json")
    _messages(homes)
    _acknowledge_and_record(homes)
    print(f"\n6. Waiting for an in-band rekey (every {REKEY_AFTER:g} s here) ...")
    _wait("a rekey", lambda: all((line := _line(h)) and line["rekeys"] >= 1 for h in homes))
    for home in homes:
        rekeys = [
            line
            for line in (home.parent / f"{home.name}.log").read_text().splitlines()
            if " rekey " in line
        ]
        print(f"  {home.name}: {rekeys[-1]}")
    _run("--home", homes[0], "status")


#: What each office writes: Hebrew and English from Jerusalem, Russian and English from Moscow.
MESSAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "jerusalem": (
        ("routine", "שלום ממשרד ראש הממשלה. הקו נבדק ופועל."),
        ("immediate", "Jerusalem here: deconfliction notice, flight corridor 7 closes at 14:00Z."),
    ),
    "moscow": (
        ("routine", "Москва на связи. Линия проверена, приём подтверждаем."),
        (
            "flash",
            "Moscow here: notice received; corridor 7 is clear of our aircraft.",
        ),
    ),
}


def _messages(homes: list[Path]) -> None:
    print("\n5. Messages both ways. `send` returns once the message is durably queued;")
    print("   the courier signs it into the line's chain, and the peer's signed receipt")
    print("   takes it out of the outbox.")
    peers = {homes[0]: homes[1].name, homes[1]: homes[0].name}
    for home in homes:
        for precedence, text in MESSAGES[home.name]:
            _run("--home", home, "send", peers[home], text, "--precedence", precedence)
    took = _wait(
        "every message received and receipted",
        lambda: all(
            len(Client.for_home(h, timeout=2.0).inbox()) == len(MESSAGES[peers[h]])
            and not Client.for_home(h, timeout=2.0).outbox()
            for h in homes
        ),
    )
    print(f"\n   Delivered and receipted both ways in {took:.2f} s. Each inbox:")
    for home in homes:
        _run("--home", home, "inbox")
    _run("--home", homes[1], "inbox", "--json")
    print("\n   Outboxes are empty: a message leaves only with the peer's signed receipt.")
    for home in homes:
        _run("--home", home, "outbox")
        for line in (home.parent / f"{home.name}.log").read_text().splitlines():
            if " receipted " in line or " delivered " in line:
                print(f"  {home.name}: {line}")


def _acknowledge_and_record(homes: list[Path]) -> None:
    jerusalem, moscow = homes
    print("\n   Jerusalem's duty officer acknowledges Moscow's FLASH: signed into the record,")
    print("   sent back to Moscow with the officer's name.")
    flash = next(m for m in Client.for_home(jerusalem).inbox() if m.precedence == "flash")
    _run(
        "--home",
        jerusalem,
        "ack",
        flash.id,
        "--operator",
        "Duty officer Levi",
        "--note",
        "passed to the Prime Minister",
    )
    _wait("the acknowledgement at Moscow", lambda: bool(Client.for_home(moscow).acks()))
    _run("--home", moscow, "acks")
    print("\n   Both stations co-sign a checkpoint now, then each exports the line's record;")
    print("   anyone can verify the files offline, and the two agree.")
    _run("--home", jerusalem, "checkpoint", moscow.name)
    ends = []
    for home, peer in ((jerusalem, moscow.name), (moscow, jerusalem.name)):
        export = home.parent / f"{home.name}.hrec"
        _run("--home", home, "record", peer, "--export", export, quiet=True)
        _run("verify", export, *(("--show",) if home == jerusalem else ()))
        report = verify_export(export.read_bytes())
        ends.append(None if report.record is None else report.record.record_hash_end)
    if ends[0] is None or ends[0] != ends[1]:
        raise DemoError("the two stations' records do not agree")
    print(f"\n   Both records end at the same record hash {ends[0].hex()[:32]}...")


def _stop(homes: list[Path], processes: list[subprocess.Popen[bytes]]) -> None:
    print("\n7. Clean shutdown: SIGTERM to both; each closes its session with a CLOSE frame.")
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for home, process in zip(homes, processes, strict=True):
        code = process.wait(10)
        print(f"  {home.name} exited with status {code}; its log:")
        for line in (home.parent / f"{home.name}.log").read_text().splitlines():
            print(f"    {line}")


def _conformance() -> int:
    print("\n8. Conformance: official Noise test vectors (cacophony), each side replayed")
    if not CACOPHONY.is_file():
        print(f"  note: {CACOPHONY} not found; the vectors live in ../shared beside the project")
        return 0
    status = vectors.main([str(CACOPHONY)])
    print("(skipped: protocols this core does not run, such as the deferred patterns)")
    return status


def main() -> int:
    """Run the demo; return the exit status (non-zero if anything failed)."""
    start = time.monotonic()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="hotline-demo-") as folder:
        try:
            homes = _stations(Path(folder))
            processes = _serve(homes)
            _show(homes)
            _stop(homes, processes)
        except DemoError as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 1
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
    took = time.monotonic() - start
    print(f"\nTwo stations, the line up, messages both ways, a rekey, a clean stop: {took:.1f} s.")
    return _conformance()


if __name__ == "__main__":
    raise SystemExit(main())
