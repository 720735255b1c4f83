"""The certificate rollover and certificate watch sample events under events/ drive their functions as Lambda
would (``sam local invoke -e``): first as they are (placeholders refused in words), then filled in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sso_local.lambda_runtime import invoke, load_handler_module
from sso_local.template import REPO_ROOT, functions
from tests.support.keys import make_keypair
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration

EVENTS = REPO_ROOT / "events"
PLACEHOLDER_ID = "conn_0123456789abcdef0123"
PLACEHOLDER_FINGERPRINT = "REPLACE-WITH-THE-SHA256-FINGERPRINT"


def load(name: str, connection_id: str = PLACEHOLDER_ID) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text().replace(PLACEHOLDER_ID, connection_id)))


def run(event: dict[str, Any]) -> tuple[int, Any]:
    result = invoke(functions()["ConnectionsFunction"], event)
    return result["statusCode"], json.loads(result["body"])


def test_rollover_events(ready: SsoWorld) -> None:
    cid = ready.connection_id
    status, refused = run(load("connections_add_certificate", cid))
    assert (status, refused["error"]["code"]) == (400, "invalid_certificate")  # the placeholder
    event = load("connections_add_certificate", cid)
    event["body"] = json.dumps({"certificate": make_keypair("acme-idp-next").cert_pem})
    status, added = run(event)
    assert status == 201 and len(added["idp"]["certificates"]) == 2

    status, refused = run(load("connections_remove_certificate", cid))
    assert (status, refused["error"]["code"]) == (400, "invalid_request")  # the placeholder
    old = added["idp"]["certificates"][0]["sha256_fingerprint"]
    event = json.loads(json.dumps(load("connections_remove_certificate", cid)).replace(PLACEHOLDER_FINGERPRINT, old))
    status, removed = run(event)
    assert status == 200
    assert [c["sha256_fingerprint"] for c in removed["idp"]["certificates"]] == [
        added["idp"]["certificates"][1]["sha256_fingerprint"]
    ]


def test_certificate_watch_schedule_event(ready: SsoWorld) -> None:
    code_dir = functions()["CertificateWatchFunction"]
    load_handler_module(code_dir).service.cache_clear()  # this test's table and outbox
    summary = invoke(code_dir, json.loads((EVENTS / "certificate_watch_schedule.json").read_text()))
    assert summary == {"due": 0, "notices": 0, "mails": 0, "stale": 0}  # a 3-year certificate: nothing due
