"""`sso-local sp-key` against the running local stack (real HTTP): its `/_local/sp-key` invokes the operator
function, the steps show in the metadata, refusals exit 1, a bad URL exits 2."""

from __future__ import annotations

import json

import pytest

from sso_local.cli import main
from tests.support.sp_key_rotation import http_call, signing_certificates

pytestmark = pytest.mark.integration


def _sp_key(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["sp-key", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_the_rotation_from_the_command_line(stack, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    url = stack.url
    code, answer = _sp_key(capsys, "show", "--url", url)
    assert code == 1 and answer["error"]["code"] == "sp_key_unavailable"  # no connection yet, so no key
    # An owner creates a connection (which stores the first key).
    token = stack.authority.issue("acme", "owner@acme.test", "owner")
    assert (
        http_call(url, "POST", "/_local/access", {"action": "grant", "tenant_id": "acme", "plan": "contract"})[0] == 200
    )
    record = http_call(url, "POST", "/domains", {"domain": "example.com"}, token)[1]["verification"]
    http_call(
        url, "POST", "/_local/dns", {"name": record["record_name"], "type": "TXT", "value": record["record_value"]}
    )
    assert http_call(url, "POST", "/domains/example.com/verify", token=token)[1]["status"] == "verified"
    status, conn = http_call(url, "POST", "/connections", {"domains": ["example.com"]}, token)
    assert status == 201, conn
    metadata_path = f"/saml/{conn['id']}/metadata"

    code, staged = _sp_key(capsys, "stage", "--days", "0", "--url", url, "--operator", "jane@ops.example")
    assert code == 0 and staged["sp_key"]["next"] is not None
    assert len(signing_certificates(http_call(url, "GET", metadata_path)[1])) == 2
    assert (
        http_call(url, "GET", f"/connections/{conn['id']}", token=token)[1]["sp"]["next_certificate"]
        == staged["sp_key"]["next"]
    )
    code, refused = _sp_key(capsys, "stage", "--url", url)
    assert code == 1 and refused["error"]["code"] == "sp_key_next_already_staged"
    code, switched = _sp_key(capsys, "switch", "--url", url)
    assert code == 0 and switched["sp_key"]["current"]["fingerprint"] == staged["sp_key"]["next"]["fingerprint"]
    code, retired = _sp_key(capsys, "retire", "--url", url)
    assert code == 0 and retired["sp_key"]["previous"] is None
    assert len(signing_certificates(http_call(url, "GET", metadata_path)[1])) == 1


def test_the_local_route_refuses_a_body_that_is_not_an_object(stack) -> None:  # type: ignore[no-untyped-def]
    status, answer = http_call(stack.url, "POST", "/_local/sp-key", ["show"])
    assert status == 400 and answer["error"]["code"] == "invalid_request"


def test_a_url_that_is_not_http_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sp-key", "show", "--url", "file:///etc/passwd"]) == 2
    assert "--url must be an http(s) URL" in capsys.readouterr().err
