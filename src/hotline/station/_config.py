"""``station.toml``: what an office configures about its station (README "A station").

::

    [station]
    name = "jerusalem"                      # 1-64 of a-z 0-9 . - _, starting a-z/0-9
    listen = ["127.0.0.1:7401"]             # 1-8 host:port, in preference order

Later sections join :data:`_SECTIONS`. Anything not in the schema is an error rather than
ignored: a misspelt key silently ignored is a setting the operator believes is in force.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any, Final

import tomli_w

from hotline.errors import ExitCode, HotlineError
from hotline.identity import MAX_ADDRESSES, check_address, check_station_name

#: station.toml is a few lines; 64 KiB means the wrong file.
MAX_CONFIG_LEN: Final = 64 * 1024
_SECTIONS: Final = {"station": frozenset({"name", "listen"})}
_HEADER: Final = "# Hotline station configuration (see the README, section 'A station').\n"


class ConfigError(HotlineError):
    """station.toml is unreadable, malformed, or breaks the schema."""

    exit_code = ExitCode.CONFIG_INVALID


@dataclass(frozen=True, slots=True)
class StationConfig:
    """The parsed ``station.toml``.

    Attributes:
        name: the station's name, as it appears on its card.
        listen: the addresses the station listens on and publishes on its card, ``host:port``.
    """

    name: str
    listen: tuple[str, ...]

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

    def dumps(self) -> str:
        """Return the TOML text of this configuration."""
        return _HEADER + tomli_w.dumps(
            {"station": {"name": self.name, "listen": list(self.listen)}}
        )

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
            unknown = sorted(set(value) - _SECTIONS[section])
            if unknown:
                raise ConfigError(f"station.toml: unknown key {section}.{unknown[0]}")
        station = document.get("station")
        if station is None:
            raise ConfigError("station.toml: missing section [station]")
        name = _require(station, "name", str)
        listen = _require(station, "listen", list)
        if not all(isinstance(address, str) for address in listen):
            raise ConfigError("station.toml: station.listen must be a list of strings")
        return cls(name=name, listen=tuple(listen))


def _require(section: dict[str, Any], key: str, kind: type) -> Any:
    if key not in section:
        raise ConfigError(f"station.toml: missing key station.{key}")
    if not isinstance(section[key], kind):
        raise ConfigError(f"station.toml: station.{key} must be a {kind.__name__}")
    return section[key]
