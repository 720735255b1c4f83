"""Fuzzing: a short seeded run in the normal suite; `make fuzz` sets FUZZ_INPUTS (at least 100,000 in total) for
the bounded run, unseeded, and prints inputs, outcomes by reason and the slowest input per target."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sso_local.saml_idp import IdpKeys
from tests.fuzz.record import STATS, report
from tests.support.fuzzing import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if STATS:
        terminalreporter.write_sep("=", "fuzz targets")
        terminalreporter.write_line(report())
    if STATS and os.environ.get("FUZZ_STATS_JSON"):  # for `make fuzz` (tests/fuzz/__main__.py)
        Path(os.environ["FUZZ_STATS_JSON"]).write_text(
            json.dumps(
                {
                    name: {
                        "inputs": s.inputs,
                        "outcomes": dict(s.outcomes),
                        "slowest_cpu": s.slowest_cpu,
                        "slowest_wall": s.slowest_wall,
                    }
                    for name, s in STATS.items()
                }
            )
        )


@pytest.fixture(autouse=True)
def _fuzz_env(sso_env: None) -> Iterator[None]:
    """The SSO environment (tests/support/sso_fixtures.py), for the ACS route target."""
    yield


@pytest.fixture
def ready(api: Any, dns: Any, tmp_path: Any, acme_idp_keys: IdpKeys, sp_keypair: tuple[str, str]) -> Any:
    """A tenant with SSO working end to end (in-process moto, the gateway, a real IdP): the ACS route's world."""
    from tests.support.sso_fixtures import make_world

    return make_world(api, dns, tmp_path / "outbox", acme_idp_keys, sp_keypair).setup()
