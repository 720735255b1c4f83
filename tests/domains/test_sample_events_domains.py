"""The domain and DNS-check sample events in events/ drive their functions (as `sam local invoke -e` would)."""

import json

import pytest

from sso_local.lambda_runtime import invoke
from sso_local.template import REPO_ROOT, functions

pytestmark = pytest.mark.integration

EVENTS = REPO_ROOT / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def run(function: str, name: str) -> dict:
    return invoke(functions()[function], load(name))


def test_domain_events_in_order(aws, dns):
    added = run("DomainsFunction", "domains_add")
    assert added["statusCode"] == 201
    record = json.loads(added["body"])["verification"]
    assert run("DomainsFunction", "domains_list")["statusCode"] == 200
    assert json.loads(run("DomainsFunction", "domains_get")["body"])["domain"] == "example.com"
    dns.store.add(record["record_name"], "TXT", record["record_value"])
    verified = run("DomainsFunction", "domains_verify")
    assert json.loads(verified["body"])["status"] == "verified"
    assert run("DomainsFunction", "domains_delete")["statusCode"] == 204
    assert run("DomainsFunction", "domains_get")["statusCode"] == 404


def test_schedule_event(aws, dns):
    summary = run("DnsCheckFunction", "dns_check_schedule")
    assert summary["due"] == 0
    assert summary["checked"] == 0
