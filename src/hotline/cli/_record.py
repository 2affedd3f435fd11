"""``verify`` and ``statement``: the official record, checked offline and signed for the public.

``verify`` needs no station: it reads one file, tells an export (``.hrec``) from a statement
(``.hstmt``) by its magic, and prints VALID or INVALID with every reason, the stations' names
and fingerprints (to compare with the ones pinned out of band) and the record hashes. Exit 0
when valid, ``RECORD_INVALID`` (50) otherwise.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hotline.errors import ExitCode
from hotline.record import (
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

from ._messages import printable
from ._options import PassphraseFd, PassphraseFile, root_options


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


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
    return [
        {
            "direction": int(e.header.direction),
            "from": report.stations[e.header.direction].name,
            "seq": e.seq,
            "kind": e.header.kind.name,
            "precedence": e.header.precedence.name,
            "sent_at": _time(e.header.sequenced_at_ms),
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
        "record_hash_start": _hex(record.record_hash_start if record else None),
        "record_hash_end": _hex(record.record_hash_end if record else None),
        "equivocation": bool(record and record.equivocation),
    }
    if show:
        result["messages"] = _messages(report)
    return result


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def _print_export(report: ExportReport, show: bool) -> None:
    typer.echo("VALID" if report.valid else "INVALID")
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
    for finding in report.failures:
        typer.echo(f"FAIL {printable(str(finding))}")
    for note in record.notes if record else ():
        typer.echo(f"NOTE {printable(str(note))}")
    if show:
        for message in _messages(report):
            typer.echo(
                f"--- {message['from']} #{message['seq']} {message['kind']} {message['precedence']}"
                f"  sent {message['sent_at']}  stored {message['stored_at']}"
            )
            typer.echo(printable(message["text"]))


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


def _print_statement(report: StatementReport) -> None:
    typer.echo("VALID" if report.valid else "INVALID")
    if report.name is not None:
        typer.echo(f"signed by station {report.name}, fingerprint {report.fingerprint}")
    for failure in report.failures:
        typer.echo(f"FAIL {printable(failure)}")
    if report.statement is not None:
        typer.echo(f"signed at {_time(report.statement.signed_at_ms)} (the signer's clock):")
        typer.echo(printable(report.statement.text))


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
) -> None:
    """Verify a record export or a statement offline: VALID or INVALID, and every reason."""
    data = file.read_bytes()
    if data.startswith(STATEMENT_MAGIC):
        statement = verify_statement(data)
        valid = statement.valid
        if as_json:
            typer.echo(json.dumps(_statement_json(statement), indent=2))
        else:
            _print_statement(statement)
    else:
        report = verify_export(data)
        valid = report.valid
        if as_json:
            typer.echo(json.dumps(_export_json(report, show), indent=2))
        else:
            _print_export(report, show)
    if not valid:
        raise typer.Exit(ExitCode.RECORD_INVALID)


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
