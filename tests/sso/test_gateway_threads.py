"""Whole logins through the local stack's gateway from many new threads at once (its threaded server gives every
connection a thread of its own), the IdP signing in the client threads meanwhile, every AWS call over HTTP to the
moto server. Before the schema build stopped depending on libxml2's global entity loader, a few valid assertions
in a thousand were refused here as ``malformed`` (docs/decisions.md, "The race nobody explained")."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from sso_local.gateway import Gateway, GatewayResponse
from tests.support.sso_checks import codes_issued
from tests.support.sso_world import SsoWorld, code_of, reference_of

pytestmark = pytest.mark.integration
THREADS = 8
LOGINS = 48


def test_logins_from_new_threads_all_succeed_and_redeem_once(server_world: SsoWorld) -> None:
    world = server_world
    world.api.gateway = Gateway(world.api.gateway.authority, one_event_at_a_time=True)  # as `sso-local run` has it
    results: list[GatewayResponse | Exception] = []
    lock = threading.Lock()

    def login() -> None:
        try:
            started = world.start()
            message = world.response_b64(started.request_id)  # the IdP signs outside the gateway, concurrently
            outcome: GatewayResponse | Exception = world.post_acs(message, started.cookies, started.relay_state)
        except Exception as exc:  # reported with its type below
            outcome = exc
        with lock:
            results.append(outcome)

    for _ in range(LOGINS // THREADS):
        threads = [threading.Thread(target=login) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, Counter(type(e).__name__ for e in errors)
    responses = [r for r in results if isinstance(r, GatewayResponse)]
    refused = [r for r in responses if r.status != 302]
    if refused:
        by_reference = {e["reference"]: e["reason"] for e in world.trace()}
        pytest.fail(f"refused: {Counter(by_reference.get(reference_of(r)) for r in refused)}")
    assert codes_issued() == LOGINS
    codes = {code_of(r) for r in responses}
    assert len(codes) == LOGINS
    assert all(world.redeem(code).status == 200 for code in codes)
    assert codes_issued() == 0
