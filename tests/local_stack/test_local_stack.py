"""The local stack over real HTTP: the walk `make run` prints ends in a verified domain."""

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from sso_local.stack import LocalStack
from tests.support.child_env import child_env

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path, monkeypatch):
    monkeypatch.delenv("SSO_DNS_NAMESERVERS", raising=False)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True) as running:
        yield running


def call(stack, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(stack.url + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None


def test_printed_walk_ends_verified(stack, tmp_path):
    assert call(stack, "GET", "/_local/health")[0] == 200
    # The token comes from the CLI, reading the same state folder.
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "sso_local.cli",
            "token",
            "--tenant",
            "acme",
            "--email",
            "o@acme.test",
            "--role",
            "owner",
        ],
        env=child_env({"SSO_LOCAL_STATE": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    status, domain = call(stack, "POST", "/domains", {"domain": "example.com"}, token)
    assert status == 201
    record = domain["verification"]
    status, _ = call(
        stack, "POST", "/_local/dns", {"name": record["record_name"], "type": "TXT", "value": record["record_value"]}
    )
    assert status == 201
    status, verified = call(stack, "POST", "/domains/example.com/verify", token=token)
    assert status == 200
    assert verified["status"] == "verified"


def test_scheduled_check_route_verifies_due_domains(stack):
    token = stack.authority.issue("acme", "o@acme.test", "owner")
    record = call(stack, "POST", "/domains", {"domain": "example.org"}, token)[1]["verification"]
    call(stack, "POST", "/_local/dns", {"name": "verify.example.net", "type": "TXT", "value": record["record_value"]})
    call(stack, "POST", "/_local/dns", {"name": record["record_name"], "type": "CNAME", "value": "verify.example.net"})
    status, summary = call(stack, "POST", "/_local/run/dns-check")
    assert status == 200
    assert summary["due"] == 0  # first check is a minute away: nothing is due yet
    assert call(stack, "GET", "/domains/example.org", token=token)[1]["status"] == "pending"


def test_local_dns_refuses_bad_records(stack):
    assert call(stack, "POST", "/_local/dns", {"name": "x.example", "type": "MX", "value": "a"})[0] == 400
    assert call(stack, "POST", "/_local/dns", {"name": "x.example", "type": "TXT", "value": ""})[0] == 400
    assert call(stack, "POST", "/_local/dns", {"type": "TXT", "value": "a"})[0] == 400
    assert call(stack, "DELETE", "/_local/dns")[0] == 204


def test_admin_routes_need_a_token(stack):
    assert call(stack, "GET", "/domains")[0] == 401
    assert call(stack, "GET", "/domains", token="not-a-jwt")[0] == 401
