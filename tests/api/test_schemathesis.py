"""schemathesis against a real ``hotline serve``: no input the document allows, or breaks, is a 5xx.

The daemon runs as the operator runs it (a subprocess on 127.0.0.1, paired with a station
named ``moscow``, the name the document's example uses, so valid sends really queue). The
document is fetched from the daemon itself with the token. Every operation gets examples that
fit the document (positive) and examples that break it (negative), a bounded number of each;
every answer is checked: not a server error, a documented status, a documented content type,
a body that fits its schema, schema-breaking input refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from hotline.api import Client, read_token

from ..station.stations import Station, World, environment, wait_until

#: Examples per strategy (operation and mode): some 1,000 requests, about 9 s here.
EXAMPLES = 100
#: The statuses that refuse input breaking the document (schemathesis's list, and 413).
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, Station]]:
    for name in [name for name in os.environ if name.startswith("HOTLINE_")]:
        monkeypatch.delenv(name)
    for name, value in environment().items():
        if name.startswith("HOTLINE_"):
            monkeypatch.setenv(name, value)
    world = World(tmp_path)
    try:
        jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
        world.pin(jerusalem, moscow)
        jerusalem.serve()
        wait_until(lambda: jerusalem.api_status() is not None, 15.0, "the daemon's API")
        with Client.for_home(jerusalem.home) as client:
            url = repr(client).split("'")[1]
        yield url, read_token(jerusalem.home), jerusalem
        assert "Traceback" not in jerusalem.log, jerusalem.log
    finally:
        world.close()


def test_no_server_error_for_any_request(daemon: tuple[str, str, Station]) -> None:
    url, token, station = daemon
    headers = {"Authorization": f"Bearer {token}"}
    # A body over the size limit is refused with 413 before it is parsed: a rejection too.
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    )
    schema = schemathesis.openapi.from_url(f"{url}/v1/openapi.json", headers=headers, config=config)
    checks = [check for check in CHECKS.get_all() if check.__name__ != "positive_data_acceptance"]
    strategies = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategies += schema.get_strategies_from_examples(operation)
        strategies += [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    # 5 operations (not the document itself) x 2 modes, and 2 examples (send's, resume's)
    # + the batch send: 2 modes and 2 examples (its own and the item's)
    # + the record export: 2 modes and 1 example; the checkpoint: 2 modes and 1 example
    # + the ack: 2 modes and 1 example; the acks list: 2 modes
    # + the alarms list: 2 modes; the alarm ack: 2 modes and 1 example
    assert len(strategies) == 32
    calls = 0

    for strategy in strategies:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def call(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=url, headers=headers, checks=checks)

        call()
    assert calls >= 5 * EXAMPLES  # the run was not vacuous
    # Valid sends really queued, and resume really ran (the examples name a paired peer).
    with Client(url, token) as client:
        assert any(message.peer == "moscow" for message in client.outbox())
    assert "halts lifted by the operator peer=moscow" in station.log
