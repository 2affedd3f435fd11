"""``record``, ``verify`` and ``statement``: the official record, exported, checked offline, and
statements signed for the public.

``record`` asks the running daemon for an export of a line's record and checks it with the
same offline verifier a third party would run, so what the operator sees is what the file
proves; ``--export`` writes the file.

``verify`` needs no station: it reads one file, tells an export (``.hrec``) from a statement
(``.hstmt``) by its magic, and prints VALID or INVALID with every reason, the stations' names
and fingerprints (to compare with the ones pinned out of band) and the record hashes. Exit 0
when valid, ``RECORD_INVALID`` (50) otherwise.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hotline.api import Client, check_peer
from hotline.errors import ExitCode
from hotline.record import (
    MAX_EXPORT_FILE_LEN,
    STATEMENT_MAGIC,
    AckBody,
    Envelope,
    Finding,
)
from hotline.verify import (
    ExportReport,
    StatementReport,
    sign_statement,
    verify_export,
    verify_statement,
)

from ._input import read_input
from ._messages import printable, printable_body
from ._options import PassphraseFd, PassphraseFile, root_options


def _time(ms: int | None) -> str:
    """A time of the file, UTC; one past what a date can hold (a file may say anything) is
    shown as its number."""
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    except (ValueError, OverflowError, OSError):
        return f"{ms} ms (not a date)"


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "index": finding.index,
        "direction": None if finding.direction is None else int(finding.direction),
        "seq": finding.seq,
        "reason": str(finding.reason),
        "text": finding.text,
    }


def _content(envelope: Envelope) -> str:
    body = envelope.body
    if body is None:
        return "[body redacted]"
    if isinstance(body, AckBody):
        note = f": {body.note}" if body.note else ""
        return f"ACK of #{body.acked.seq} by {body.operator}{note}"
    return body.text


def _messages(report: ExportReport) -> list[dict[str, Any]]:
    record = report.record
    if record is None:
        return []
    disproved = {(f.direction, f.seq) for f in record.contradicted}
    return [
        {
            "direction": int(e.header.direction),
            "from": report.stations[e.header.direction].name,
            "seq": e.seq,
            "kind": e.header.kind.name,
            "precedence": e.header.precedence.name,
            "sent_at": _time(e.header.sequenced_at_ms),
            "sent_at_contradicted": (e.header.direction, e.seq) in disproved,
            "attested_by_peer": record.attested_by_peer(e),
            "stored_at": _time(record.stored_at(e)),
            "text": _content(e),
        }
        for e in record.envelopes
    ]


def _export_json(report: ExportReport, show: bool) -> dict[str, Any]:
    record = report.record
    result: dict[str, Any] = {
        "kind": "export",
        "valid": report.valid,
        "stations": [
            {"name": s.name, "fingerprint": s.fingerprint, "direction": int(s.direction)}
            for s in report.stations
        ],
        "failures": [_finding_json(f) for f in report.failures],
        "not_checked": [_finding_json(f) for f in record.notes] if record else [],
        "refusals": [_finding_json(f) for f in record.refusals] if record else [],
        "times_contradicted": [_finding_json(f) for f in record.contradicted] if record else [],
        "record_hash_start": _hex(record.record_hash_start if record else None),
        "record_hash_end": _hex(record.record_hash_end if record else None),
        "equivocation": bool(record and record.equivocation),
        "range": _range_json(report),
    }
    if show:
        result["messages"] = _messages(report)
    return result


def _range_json(report: ExportReport) -> list[dict[str, Any]]:
    """Per direction: its sender and the envelopes in the range (``0..0``: none)."""
    record = report.record
    if record is None or record.export_range is None or not report.stations:
        return []
    return [
        {
            "direction": int(station.direction),
            "from": station.name,
            "first": record.export_range.span(station.direction).first,
            "last": record.export_range.span(station.direction).last,
        }
        for station in report.stations
    ]


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def _print_export(report: ExportReport, show: bool, valid: bool | None = None) -> None:
    """Print the report; ``valid`` overrides its verdict (fingerprints not the expected)."""
    valid = report.valid if valid is None else valid
    typer.echo("VALID" if valid else "INVALID")
    for station in report.stations:
        typer.echo(
            f"station {station.name} (direction {int(station.direction)}),"
            f" fingerprint {station.fingerprint}"
        )
    record = report.record
    if record is not None:
        if record.equivocation:
            typer.echo("EQUIVOCATION: a station signed two different histories")
        typer.echo(f"record hash at the start: {_hex(record.record_hash_start) or 'unknown'}")
        typer.echo(f"record hash at the end:   {_hex(record.record_hash_end) or 'unknown'}")
    for span in _range_json(report):
        count = 0 if span["first"] == 0 else span["last"] - span["first"] + 1
        typer.echo(f"from {span['from']}: {count} envelopes (#{span['first']}..#{span['last']})")
    for finding in report.failures:
        typer.echo(f"FAIL {printable(str(finding))}")
    for refusal in record.refusals if record else ():
        typer.echo(f"REFUSED {printable(str(refusal))}")
    for contradiction in record.contradicted if record else ():
        typer.echo(f"TIME {printable(str(contradiction))}")
    for note in record.notes if record else ():
        typer.echo(f"NOTE {printable(str(note))}")
    if show:
        if not valid:
            typer.echo("NOT VERIFIED: the file is INVALID; its messages as it shows them:")
        for message in _messages(report):
            typer.echo(
                f"--- {message['from']} #{message['seq']} {message['kind']} {message['precedence']}"
                f"  sent {message['sent_at']}"
                f"{' (DISPROVED by a checkpoint)' if message['sent_at_contradicted'] else ''}"
                f"  stored {message['stored_at']}"
                + ("" if message["attested_by_peer"] else "  (NOT ATTESTED by the other station)")
            )
            typer.echo(printable_body(message["text"]))


def _statement_json(report: StatementReport) -> dict[str, Any]:
    statement = report.statement
    return {
        "kind": "statement",
        "valid": report.valid,
        "station": report.name,
        "fingerprint": report.fingerprint,
        "signed_at": _time(statement.signed_at_ms) if statement else None,
        "text": statement.text if statement else None,
        "failures": list(report.failures),
    }


def _print_statement(report: StatementReport, valid: bool | None = None) -> None:
    """Print the report; ``valid`` overrides its verdict (fingerprints not the expected)."""
    valid = report.valid if valid is None else valid
    typer.echo("VALID" if valid else "INVALID")
    if report.name is not None:
        who = "signed by station" if valid else "the card in it: station"
        typer.echo(f"{who} {report.name}, fingerprint {report.fingerprint}")
    for failure in report.failures:
        typer.echo(f"FAIL {printable(failure)}")
    if report.statement is not None:
        said = "signed at" if valid else "NOT VERIFIED, it claims to be signed at"
        typer.echo(f"{said} {_time(report.statement.signed_at_ms)} (the signer's clock):")
        typer.echo(printable_body(report.statement.text))


def verify(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A record export or a statement.", dir_okay=False),
    ],
    *,
    show: Annotated[
        bool, typer.Option("--show", help="Print the messages, control characters escaped.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            metavar="FINGERPRINT",
            help="A station's fingerprint as pinned out of band (repeatable): VALID also"
            " needs its card in the file.",
        ),
    ] = None,
) -> None:
    """Verify a record export or a statement offline: VALID or INVALID, and every reason."""
    expected = [_fingerprint(value) for value in expect or ()]
    data = read_input(
        file,
        MAX_EXPORT_FILE_LEN,
        "a record export this verifier reads",
        " (export the record in shorter ranges: --from, --to)",
    )
    if data.startswith(STATEMENT_MAGIC):
        statement = verify_statement(data)
        missing = _missing(expected, [statement.fingerprint])
        valid = statement.valid and not missing
        if as_json:
            found = _statement_json(statement) | {"valid": valid, "unexpected": missing}
            typer.echo(json.dumps(found, indent=2))
        else:
            _print_statement(statement, valid)
    else:
        report = verify_export(data)
        missing = _missing(expected, [station.fingerprint for station in report.stations])
        valid = report.valid and not missing
        if as_json:
            found = _export_json(report, show) | {"valid": valid, "unexpected": missing}
            typer.echo(json.dumps(found, indent=2))
        else:
            _print_export(report, show, valid)
    if not as_json:
        for fingerprint in missing:
            typer.echo(f"FAIL no card in the file has the expected fingerprint {fingerprint}")
    if not valid:
        raise typer.Exit(ExitCode.RECORD_INVALID)


def _fingerprint(value: str) -> str:
    """A fingerprint as typed (groups, spaces or dashes), as 40 digits in groups of five."""
    digits = "".join(c for c in value if c not in " -")
    if len(digits) != 40 or not digits.isascii() or not digits.isdigit():
        raise typer.BadParameter("a fingerprint is 40 digits", param_hint="--expect")
    return " ".join(digits[i : i + 5] for i in range(0, 40, 5))


def _missing(expected: list[str], found: list[str | None]) -> list[str]:
    """The expected fingerprints no card of the file has."""
    return [fingerprint for fingerprint in expected if fingerprint not in found]


def record(
    ctx: typer.Context,
    peer: Annotated[str, typer.Argument(metavar="PEER", help="The paired station of the line.")],
    *,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", metavar="FILE", help="Write the export here (.hrec).", dir_okay=False
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="TIME",
            help="First send time: ISO 8601 with a zone (2026-12-05T10:00Z) or a UTC date.",
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", metavar="TIME", help="Last send time (a date: its whole day)."),
    ] = None,
    redact_bodies: Annotated[
        bool,
        typer.Option("--redact-bodies", help="Leave the texts out; their hashes still verify."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Show the line's record, verified as a third party would; or export it to a file."""
    home = root_options(ctx).open_home().path
    check_peer(peer)
    with Client.for_home(home) as client:
        data = client.record(peer, start=start, end=end, redact_bodies=redact_bodies)
    report = verify_export(data)
    if export is not None:
        _write_atomically(export, data)
    show = export is None
    if as_json:
        typer.echo(json.dumps(_export_json(report, show) | {"file": _path(export)}, indent=2))
    else:
        _print_export(report, show)
        if export is not None:
            typer.echo(f"written to {export} ({len(data)} bytes); check it with: hotline verify")
    if not report.valid:
        raise typer.Exit(ExitCode.RECORD_INVALID)


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it: never half a file."""
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)


def statement(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The statement (UTF-8).")],
    *,
    export: Annotated[
        Path, typer.Option("--export", metavar="FILE", help="Write the signed statement here.")
    ],
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """Sign a public statement with the station's identity and write it as a .hstmt file."""
    station = root_options(ctx).unlock(passphrase_file, passphrase_fd)
    data = sign_statement(station.keys, station.card(), text, time.time_ns() // 1_000_000)
    export.write_bytes(data)
    typer.echo(f"Statement signed by {station.config.name} written to {export}.")
