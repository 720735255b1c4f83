"""Single use under concurrency: threads post to the gateway at once, every AWS call going over HTTP to a real
moto server (each thread plays one Lambda instance). Exactly one wins; every other gets its specific refusal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from sso_local.gateway import GatewayResponse
from tests.support.sso_checks import codes_issued, stored_items
from tests.support.sso_world import SsoWorld, code_of, reference_of

pytestmark = pytest.mark.integration
T = TypeVar("T")
THREADS = 8


def race(n: int, action: Callable[[int], T]) -> list[T]:
    """``action`` in ``n`` threads released together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def reasons(world: SsoWorld, refused: list[GatewayResponse]) -> set[str]:
    by_reference = {e["reference"]: e["reason"] for e in world.trace()}
    return {by_reference[reference_of(r)] for r in refused}


def test_7_the_same_response_posted_at_once_signs_in_once(server_world: SsoWorld) -> None:
    started = server_world.start()
    message = server_world.response_b64(started.request_id)
    results = race(THREADS, lambda _: server_world.post_acs(message, started.cookies, started.relay_state))
    winners = [r for r in results if r.status == 302]
    assert len(winners) == 1, [r.status for r in results]
    losers = [r for r in results if r.status != 302]
    assert {r.status for r in losers} == {403} and all("SSO auth failed" in r.text for r in losers)
    assert reasons(server_world, losers) == {"replayed"}
    assert codes_issued() == 1
    assert server_world.redeem(code_of(winners[0])).status == 200


def test_9_one_request_answered_by_several_responses_at_once_signs_in_once(server_world: SsoWorld) -> None:
    """Distinct genuine assertions for the same request (the replay cache cannot tell them apart)."""
    started = server_world.start()
    messages = [server_world.response_b64(started.request_id) for _ in range(THREADS)]
    results = race(THREADS, lambda i: server_world.post_acs(messages[i], started.cookies, started.relay_state))
    winners = [r for r in results if r.status == 302]
    assert len(winners) == 1, [r.status for r in results]
    assert reasons(server_world, [r for r in results if r.status != 302]) == {"request_unknown"}
    (request,) = stored_items("authn_request")  # marked used by the winner, left for TTL to remove
    assert request["used_by"]


def test_a_code_redeemed_at_once_redeems_once(server_world: SsoWorld) -> None:
    code = code_of(server_world.login())
    results = race(THREADS, lambda _: server_world.redeem(code))
    assert sorted(r.status for r in results) == [200] + [400] * (THREADS - 1)
    assert {r.json()["error"]["code"] for r in results if r.status == 400} == {"invalid_code"}
    (winner,) = [r for r in results if r.status == 200]
    assert winner.json()["user"]["email"] == "alice@acme.test"
    assert codes_issued() == 0
