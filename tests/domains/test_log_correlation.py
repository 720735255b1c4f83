"""A domain check's log lines (Check DNS now) carry API Gateway's request id as ``correlation_id``."""

from __future__ import annotations

import pytest

from tests.support.log_lines import json_lines, printed_log, record_events

pytestmark = pytest.mark.integration


def test_domain_check_logs_carry_the_request_id(api, dns, monkeypatch):
    events = record_events(monkeypatch)
    claimed = api.call("POST", "/domains", {"domain": "example.com"}, tenant="t1")
    assert claimed.status == 201, claimed.text
    with printed_log("INFO") as printed:
        missing = api.call("POST", "/domains/example.com/verify", tenant="t1")
    assert missing.status == 200 and missing.json()["status"] == "pending"
    first = events[-1]["requestContext"]["requestId"]

    record = claimed.json()["verification"]
    dns.store.add(record["record_name"], record["record_type"], record["record_value"])
    with printed_log("INFO") as again:
        verified = api.call("POST", "/domains/example.com/verify", tenant="t1")
    assert verified.json()["status"] == "verified"
    second = events[-1]["requestContext"]["requestId"]
    assert first != second

    for text, request_id, outcome in ((printed.getvalue(), first, "pending"), (again.getvalue(), second, "verified")):
        lines = json_lines(text)
        checked = [line for line in lines if line["message"] == "domain checked"]
        assert len(checked) == 1 and checked[0]["domain"] == "example.com", lines
        assert outcome in checked[0]["outcome"], checked
        assert all(line["correlation_id"] == request_id for line in lines), lines
