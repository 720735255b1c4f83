"""DynamoDB requests one SSO login makes, step by step, counted at the client (a botocore event hook).

docs/capacity.md prices logins with these counts; the budgets fail when a change adds requests to the hot path.
"""

from __future__ import annotations

import json

import pytest

from sso_core.dal.table import dynamodb_client
from tests.support.requests import RequestCounter
from tests.support.sso_world import SsoWorld, code_of

pytestmark = pytest.mark.integration

# Measured 2026-12-02 (see docs/capacity.md); a budget is the count, so any new request on the path is a decision.
# The ACS reads its request once more since the browser binding is checked before the assertion is burned
# (security review finding 8): 11. The token step reads the member too (SCIM: a deactivated user's code is refused): 3.
BUDGET = {"start": 2, "acs": 11, "token": 3}


def test_requests_per_login_stay_within_the_budget(ready: SsoWorld) -> None:
    assert ready.login().status == 302  # warm: the SP key and connection caches filled, as on a warm Lambda
    counts: dict[str, dict[str, int]] = {}
    counter = RequestCounter(dynamodb_client())
    started = ready.start("alice@acme.test")
    counts["start"] = dict(counter.calls)
    counter.calls.clear()
    resp = ready.post_acs(
        ready.response_b64(started.request_id, "alice@acme.test"), started.cookies, started.relay_state
    )
    counts["acs"] = dict(counter.calls)
    counter.calls.clear()
    assert ready.redeem(code_of(resp)).status == 200
    counts["token"] = dict(counter.calls)
    print("dynamodb requests per login:", json.dumps(counts, sort_keys=True))
    for step, budget in BUDGET.items():
        assert sum(counts[step].values()) <= budget, (step, counts[step])
