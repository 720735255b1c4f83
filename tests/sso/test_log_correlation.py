"""The ACS's log lines carry API Gateway's request id (``correlation_id``) and the login's reference
(``login_reference``, the one the failure page shows), and nothing of one login leaks into the next."""

from __future__ import annotations

import re

import pytest

from tests.support.log_lines import json_lines, printed_log, record_events

pytestmark = pytest.mark.integration

REFERENCE = re.compile(r"SSO-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


def test_refused_login_logs_carry_the_reference_and_the_request_id(ready, monkeypatch):
    world = ready
    events = record_events(monkeypatch)
    started = world.start("alice@acme.test")
    with printed_log() as printed:
        refused = world.post_acs(
            world.response_b64(started.request_id, "mallory@acme.test"), started.cookies, started.relay_state
        )
    assert refused.status >= 400 and "SSO auth failed" in refused.text
    reference = REFERENCE.search(refused.text).group(0)
    lines = json_lines(printed.getvalue())
    assert any(line["message"] == "SSO login refused" for line in lines), lines
    request_id = events[-1]["requestContext"]["requestId"]
    for line in lines:
        assert line["correlation_id"] == request_id, line
        assert line["login_reference"] == reference, line
        assert line["connection_id"] == world.connection_id, line

    # The next login through the same warm function has its own reference and request id, never the last ones.
    with printed_log() as printed:
        other = world.post_acs("bm90IGEgcmVzcG9uc2U=", connection_id="conn_unknown")
    assert other.status >= 400
    following = json_lines(printed.getvalue())
    assert following
    for line in following:
        assert line["correlation_id"] == events[-1]["requestContext"]["requestId"] != request_id
        assert line["login_reference"] == REFERENCE.search(other.text).group(0) != reference
        assert line["connection_id"] == "conn_unknown"
