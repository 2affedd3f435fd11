"""``station.toml``: what an office configures about its station (README "A station").

::

    [station]
    name = "jerusalem"                      # 1-64 of a-z 0-9 . - _, starting a-z/0-9
    listen = ["127.0.0.1:7401"]             # 1-8 host:port, in preference order

    [line]                                  # optional: how lines are watched and redialled
    ping_interval_s = 0.25                  # a heartbeat (probe) every 250 ms
    ping_timeout_s = 5.0                    # a session silent this long is dropped
    dial_backoff_max_s = 30.0
    probe_missed = 3                        # the path is down after 3 pings unanswered
    probe_recover = 3                       # up again after 3 answered in a row,
    probe_hold_down_s = 2.0                 # and no sooner than 2 s after it went down

    [api]                                   # optional: the local API (127.0.0.1 only)
    listen = "127.0.0.1:0"                  # port 0: any free port (daemon.json tells which)

    [watch]                                 # optional: alarms, test messages, people alerted
    line_down_after_s = 30.0                # alarm once a line is down this long
    test_interval_s = 3600.0                # a test message to every peer each hour
    test_grace_s = 300.0                    # a test is overdue this long after it was due
    escalate_after_s = 300.0                # FLASH/IMMEDIATE unacknowledged this long: escalate
    clock_sync_check = true                 # alarm if the kernel says our clock is unsynced
    hook_timeout_s = 10.0                   # a hook still running this long is killed
    on_alarm = ["/usr/local/bin/page", "--hotline"]        # + ID KIND LEVEL PEER TEXT
    on_message = ["/usr/local/bin/ring"]                   # + ID PEER PRECEDENCE SEQ
    on_escalation = ["/usr/local/bin/page", "--escalate"]  # + ID PEER PRECEDENCE SEQ

    [dial]                                  # optional: dial a peer here, not at its card's
    moscow = ["127.0.0.1:7502"]             # addresses (a tunnel, a port forward, a test proxy)

    [testing]                               # never on a real station: the daemon warns
    rekey_after_s = 2.0                     # rekey every 2 s instead of 120 s
    checkpoint_interval_s = 0.5             # checkpoints every 0.5 s instead of 10 s
    clock_offset_ms = 2500                  # this station's line clock runs 2.5 s ahead

Later sections join :data:`_SECTIONS`. Anything not in the schema is an error rather than
ignored: a misspelt key silently ignored is a setting the operator believes is in force.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any, Final

import tomli_w

from hotline.constants import CHECKPOINT_INTERVAL
from hotline.errors import ExitCode, HotlineError
from hotline.identity import MAX_ADDRESSES, check_address, check_station_name
from hotline.line import LineTiming
from hotline.noise import LocalProtocolError
from hotline.session import SessionTiming

from ._hooks import DEFAULT_HOOK_TIMEOUT_S, HookCommand

#: station.toml is a few lines; 64 KiB means the wrong file.
MAX_CONFIG_LEN: Final = 64 * 1024
#: ``[testing] checkpoint_interval_s``: from a fifth of a second to the protocol's own pace.
CHECKPOINT_INTERVAL_BOUNDS: Final = (0.2, CHECKPOINT_INTERVAL)
_SECTIONS: Final = {
    "station": frozenset({"name", "listen"}),
    "line": frozenset(
        {
            "ping_interval_s",
            "ping_timeout_s",
            "dial_backoff_max_s",
            "probe_missed",
            "probe_recover",
            "probe_hold_down_s",
        }
    ),
    "api": frozenset({"listen"}),
    "dial": None,  # keys are peer names
    "testing": frozenset({"rekey_after_s", "checkpoint_interval_s", "clock_offset_ms"}),
    "watch": frozenset(
        {
            "line_down_after_s",
            "test_interval_s",
            "test_grace_s",
            "escalate_after_s",
            "clock_sync_check",
            "hook_timeout_s",
            "on_alarm",
            "on_message",
            "on_escalation",
        }
    ),
}
#: ``[testing] clock_offset_ms``: a minute either way is plenty to provoke the skew alarm.
MAX_TEST_CLOCK_OFFSET_MS: Final = 60_000
_HOOKS: Final = ("on_alarm", "on_message", "on_escalation")
#: The local API listens on the loopback address only (DESIGN.md "Defaults").
_API_LISTEN_RE: Final = re.compile(r"127\.0\.0\.1:(0|[1-9][0-9]{0,4})")
DEFAULT_API_LISTEN: Final = "127.0.0.1:0"
DEFAULT_LINE_TIMING: Final = LineTiming()
_HEADER: Final = "# Hotline station configuration (see the README, section 'A station').\n"


class ConfigError(HotlineError):
    """station.toml is unreadable, malformed, or breaks the schema."""

    exit_code = ExitCode.CONFIG_INVALID


@dataclass(frozen=True, slots=True)
class WatchConfig:
    """``[watch]``: when the station raises alarms, sends test messages, and calls people.

    Attributes:
        line_down_after_s: a line down this long without a break raises ``line_down``.
        test_interval_s: a test message goes to every peer this often, and is expected from it.
        test_grace_s: a test not received (or ours not receipted) this long after it was
            due raises ``test_overdue``.
        escalate_after_s: an incoming FLASH or IMMEDIATE nobody acknowledged this long runs
            ``on_escalation`` and raises ``unacknowledged``.
        clock_sync_check: raise ``clock_unsynced`` when the kernel says our clock is not
            synchronised.
        hook_timeout_s: a hook still running this long is stopped.
        on_alarm: run for each alarm announced: ``argv + [ID, KIND, LEVEL, PEER, TEXT]``.
        on_message: run for each FLASH or IMMEDIATE received: ``argv + [ID, PEER, PRECEDENCE,
            SEQ]`` (never the text).
        on_escalation: run when such a message was not acknowledged in time, same arguments.
    """

    line_down_after_s: float = 30.0
    test_interval_s: float = 3600.0
    test_grace_s: float = 300.0
    escalate_after_s: float = 300.0
    clock_sync_check: bool = True
    hook_timeout_s: float = DEFAULT_HOOK_TIMEOUT_S
    on_alarm: HookCommand | None = None
    on_message: HookCommand | None = None
    on_escalation: HookCommand | None = None

    def __post_init__(self) -> None:
        for key, low, high in _WATCH_BOUNDS:
            value = getattr(self, key)
            if not low <= value <= high:
                raise ConfigError(f"station.toml: watch.{key} must be {low:g} to {high:g} seconds")

    def hook(self, name: str) -> HookCommand | None:
        """The hook ``name`` (``on_alarm``...) with the configured timeout, if configured."""
        command: HookCommand | None = getattr(self, name)
        if command is None:
            return None
        return HookCommand(command.argv, self.hook_timeout_s)

    def to_toml(self) -> dict[str, Any]:
        """The keys that differ from the defaults (for ``dumps``)."""
        document: dict[str, Any] = {}
        for key in WatchConfig.__dataclass_fields__:
            value = getattr(self, key)
            if value == getattr(_DEFAULT_WATCH, key):
                continue
            document[key] = list(value.argv) if isinstance(value, HookCommand) else value
        return document

    @classmethod
    def parse(cls, section: dict[str, Any]) -> WatchConfig:
        """Parse ``[watch]``.

        Raises:
            ConfigError: a value of the wrong type or out of its bounds.
        """
        values: dict[str, Any] = {}
        for key, value in section.items():
            if key in _HOOKS:
                try:
                    values[key] = HookCommand.parse(value, f"watch.{key}")
                except ValueError as exc:
                    raise ConfigError(f"station.toml: {exc}") from None
            elif key == "clock_sync_check":
                if not isinstance(value, bool):
                    raise ConfigError("station.toml: watch.clock_sync_check must be true or false")
                values[key] = value
            else:
                values[key] = _seconds(section, key, "watch")
        return cls(**values)


#: Bounds of the ``[watch]`` durations, seconds: short enough for tests, at most a day.
_WATCH_BOUNDS: Final = (
    ("line_down_after_s", 0.5, 86_400.0),
    ("test_interval_s", 1.0, 86_400.0),
    ("test_grace_s", 0.5, 86_400.0),
    ("escalate_after_s", 0.5, 86_400.0),
    ("hook_timeout_s", 0.5, 600.0),
)
_DEFAULT_WATCH: Final = WatchConfig()


@dataclass(frozen=True, slots=True)
class StationConfig:
    """The parsed ``station.toml``.

    Attributes:
        name: the station's name, as it appears on its card.
        listen: the addresses the station listens on and publishes on its card, ``host:port``.
        line: heartbeats and probes, silent-peer timeout and redial cap (``[line]``).
        api_listen: where the local API listens, ``127.0.0.1:port`` (``[api] listen``).
        dial: per peer name, addresses to dial instead of those on its card (``[dial]``).
        rekey_after: ``[testing] rekey_after_s``: a shortened rekey period, tests only.
        checkpoint_interval: ``[testing] checkpoint_interval_s``: checkpoints more often than
            every 10 s, tests only.
        watch: alarms, test messages and hooks (``[watch]``).
        clock_offset_ms: ``[testing] clock_offset_ms``: the line's clock (heartbeat and
            handshake times) shifted this much, to provoke the skew alarm; tests only.
    """

    name: str
    listen: tuple[str, ...]
    line: LineTiming = DEFAULT_LINE_TIMING
    api_listen: str = DEFAULT_API_LISTEN
    dial: tuple[tuple[str, tuple[str, ...]], ...] = ()
    rekey_after: float | None = None
    checkpoint_interval: float | None = None
    watch: WatchConfig = _DEFAULT_WATCH
    clock_offset_ms: int | None = None

    def __post_init__(self) -> None:
        try:
            check_station_name(self.name)
            for address in self.listen:
                check_address(address)
        except ValueError as exc:
            raise ConfigError(f"station.toml: {exc}") from None
        if not 1 <= len(self.listen) <= MAX_ADDRESSES:
            raise ConfigError(f"station.toml: give 1 to {MAX_ADDRESSES} listen addresses")
        if len(set(self.listen)) != len(self.listen):
            raise ConfigError("station.toml: a listen address is given twice")
        if not _API_LISTEN_RE.fullmatch(self.api_listen) or self.api_port > 0xFFFF:
            raise ConfigError("station.toml: api.listen must be 127.0.0.1:PORT (PORT 0: any)")
        for peer, addresses in self.dial:
            try:
                check_station_name(peer)
                for address in addresses:
                    check_address(address)
            except ValueError as exc:
                raise ConfigError(f"station.toml: dial.{peer}: {exc}") from None
            if not 1 <= len(addresses) <= MAX_ADDRESSES:
                raise ConfigError(f"station.toml: dial.{peer}: give 1 to {MAX_ADDRESSES} addresses")
        if self.rekey_after is not None:
            self.session_timing()
        low, high = CHECKPOINT_INTERVAL_BOUNDS
        if self.checkpoint_interval is not None and not low <= self.checkpoint_interval <= high:
            raise ConfigError(
                f"station.toml: testing.checkpoint_interval_s must be {low} to {high} seconds"
            )
        if (
            self.clock_offset_ms is not None
            and abs(self.clock_offset_ms) > MAX_TEST_CLOCK_OFFSET_MS
        ):
            raise ConfigError(
                f"station.toml: testing.clock_offset_ms must be within ±{MAX_TEST_CLOCK_OFFSET_MS}"
            )

    @property
    def api_port(self) -> int:
        """The local API's port (0: any free port)."""
        return int(self.api_listen.rpartition(":")[2])

    def dial_addresses(self, peer: str) -> tuple[str, ...] | None:
        """The addresses ``[dial]`` gives for ``peer``, or ``None`` (dial its card's)."""
        return dict(self.dial).get(peer)

    def session_timing(self) -> SessionTiming:
        """The session timers: the protocol's, or shortened by ``[testing] rekey_after_s``.

        Raises:
            ConfigError: ``rekey_after_s`` is out of bounds.
        """
        if self.rekey_after is None:
            return SessionTiming()
        try:
            return SessionTiming.scaled(self.rekey_after)
        except LocalProtocolError as exc:
            raise ConfigError(f"station.toml: testing.rekey_after_s: {exc}") from None

    def dumps(self) -> str:
        """Return the TOML text of this configuration (optional sections only when set)."""
        document: dict[str, Any] = {"station": {"name": self.name, "listen": list(self.listen)}}
        if self.line != DEFAULT_LINE_TIMING:
            document["line"] = {
                "ping_interval_s": self.line.ping_interval,
                "ping_timeout_s": self.line.ping_timeout,
                "dial_backoff_max_s": self.line.dial_backoff_max,
                "probe_missed": self.line.probe_missed,
                "probe_recover": self.line.probe_recover,
                "probe_hold_down_s": self.line.probe_hold_down,
            }
        if self.api_listen != DEFAULT_API_LISTEN:
            document["api"] = {"listen": self.api_listen}
        if self.dial:
            document["dial"] = {peer: list(addresses) for peer, addresses in self.dial}
        if self.watch != _DEFAULT_WATCH:
            document["watch"] = self.watch.to_toml()
        testing: dict[str, float] = {}
        if self.clock_offset_ms is not None:
            testing["clock_offset_ms"] = self.clock_offset_ms
        if self.rekey_after is not None:
            testing["rekey_after_s"] = self.rekey_after
        if self.checkpoint_interval is not None:
            testing["checkpoint_interval_s"] = self.checkpoint_interval
        if testing:
            document["testing"] = testing
        return _HEADER + tomli_w.dumps(document)

    @classmethod
    def loads(cls, text: str) -> StationConfig:
        """Parse and check ``station.toml``.

        Raises:
            ConfigError: bad TOML, an unknown section or key, a missing or ill-typed value.
        """
        if len(text) > MAX_CONFIG_LEN:
            raise ConfigError(f"station.toml is larger than {MAX_CONFIG_LEN} bytes")
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"station.toml is not valid TOML: {exc}") from None
        for section, value in document.items():
            if section not in _SECTIONS or not isinstance(value, dict):
                raise ConfigError(f"station.toml: unknown section [{section}]")
            keys = _SECTIONS[section]
            unknown = sorted(set(value) - keys) if keys is not None else []
            if unknown:
                raise ConfigError(f"station.toml: unknown key {section}.{unknown[0]}")
        station = document.get("station")
        if station is None:
            raise ConfigError("station.toml: missing section [station]")
        name = _require(station, "name", str)
        listen = _require(station, "listen", list)
        if not all(isinstance(address, str) for address in listen):
            raise ConfigError("station.toml: station.listen must be a list of strings")
        api = document.get("api", {})
        testing = document.get("testing", {})
        return cls(
            name=name,
            listen=tuple(listen),
            line=_line_timing(document.get("line", {})),
            api_listen=_require(api, "listen", str, "api") if api else DEFAULT_API_LISTEN,
            dial=_dial(document.get("dial", {})),
            rekey_after=_optional_seconds(testing, "rekey_after_s"),
            checkpoint_interval=_optional_seconds(testing, "checkpoint_interval_s"),
            watch=WatchConfig.parse(document.get("watch", {})),
            clock_offset_ms=(
                _count(testing, "clock_offset_ms", "testing")
                if "clock_offset_ms" in testing
                else None
            ),
        )


def _require(section: dict[str, Any], key: str, kind: type, where: str = "station") -> Any:
    if key not in section:
        raise ConfigError(f"station.toml: missing key {where}.{key}")
    if not isinstance(section[key], kind):
        raise ConfigError(f"station.toml: {where}.{key} must be a {kind.__name__}")
    return section[key]


def _seconds(section: dict[str, Any], key: str, where: str) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"station.toml: {where}.{key} must be a number of seconds")
    return float(value)


def _optional_seconds(testing: dict[str, Any], key: str) -> float | None:
    return _seconds(testing, key, "testing") if key in testing else None


def _count(section: dict[str, Any], key: str, where: str) -> int:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"station.toml: {where}.{key} must be a whole number")
    return value


def _line_timing(section: dict[str, Any]) -> LineTiming:
    seconds = {
        "ping_interval_s": "ping_interval",
        "ping_timeout_s": "ping_timeout",
        "dial_backoff_max_s": "dial_backoff_max",
        "probe_hold_down_s": "probe_hold_down",
    }
    values: dict[str, Any] = {
        seconds[key]: _seconds(section, key, "line") for key in section if key in seconds
    }
    values |= {key: _count(section, key, "line") for key in section if key not in seconds}
    try:
        return LineTiming(**values)
    except ValueError as exc:
        raise ConfigError(f"station.toml: [line] {exc}") from None


def _dial(section: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    entries = []
    for peer, addresses in section.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ConfigError(f"station.toml: dial.{peer} must be a list of host:port strings")
        entries.append((peer, tuple(addresses)))
    return tuple(entries)
