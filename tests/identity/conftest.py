"""Fixtures for the identity tests: stations' keys and cards."""

from __future__ import annotations

import pytest

from hotline.identity import Card, StationKeys


@pytest.fixture
def keys() -> StationKeys:
    return StationKeys.generate()


@pytest.fixture
def other_keys() -> StationKeys:
    return StationKeys.generate()


@pytest.fixture
def card(keys: StationKeys) -> Card:
    return Card.create(
        keys, "moscow", ("10.0.0.2:7401", "[2001:db8::1]:7401", "moscow.example:7402")
    )
