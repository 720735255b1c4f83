"""Sample events drive the kill switch and audit functions as Lambda would (``sam local invoke -e``).

``kill_switch_status`` is the kill switch itself (``{"enabled": false}``); ``domains_password_login`` and
``audit_list`` are shared with tests/sso (same claims: tenant acme, owner@acme.test, domain example.com).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sso_local.dns_server import LocalDnsServer
from sso_local.lambda_runtime import invoke
from sso_local.saml_idp import IdpKeys
from sso_local.template import REPO_ROOT, functions
from tests.support.api import Api
from tests.support.sso_fixtures import store_sp_key
from tests.support.sso_world import BREAK_GLASS, SsoWorld

pytestmark = pytest.mark.integration

EVENTS = REPO_ROOT / "events"
PLACEHOLDER_ID = "conn_0123456789abcdef0123"


def load(name: str, connection_id: str = PLACEHOLDER_ID) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text().replace(PLACEHOLDER_ID, connection_id)))


def run(function: str, event: dict[str, Any]) -> tuple[int, Any]:
    result = invoke(functions()[function], event)
    return int(result["statusCode"]), json.loads(result["body"])


@pytest.fixture
def example(
    api: Api, patient_dns: LocalDnsServer, tmp_path: Path, acme_idp_keys: IdpKeys, sp_keypair: tuple[str, str]
) -> SsoWorld:
    """SSO working for example.com in tenant acme (the events' claims), with a break-glass owner."""
    store_sp_key(*sp_keypair)
    world = SsoWorld(api, patient_dns, tmp_path / "outbox", domain="example.com", keys=acme_idp_keys).setup(
        "alice@example.com"
    )
    assert world.login("alice@example.com").status == 302
    world.invite_and_accept(BREAK_GLASS, role="owner")
    return world


def test_password_login_off_then_the_kill_switch_then_the_log(example: SsoWorld) -> None:
    status, body = run("KillSwitchFunction", load("domains_password_login"))
    assert (status, body) == (200, {"domain": "example.com", "password_login": False, "message": ""})

    status, body = run("KillSwitchFunction", load("kill_switch_status"))
    assert (status, body["error"]["code"]) == (404, "connection_not_found")  # the placeholder id
    status, body = run("KillSwitchFunction", load("kill_switch_status", example.connection_id))
    assert status == 200
    assert body["status"] == "disabled" and body["password_login_restored"] == ["example.com"]

    status, body = run("AuditFunction", load("audit_list"))
    assert status == 200
    newest = body["entries"][:3]
    assert [(e["action"], e["request_id"]) for e in newest] == [
        ("connection.disabled", "sample-kill_switch_status"),
        ("domain.password_login_changed", "sample-kill_switch_status"),
        ("domain.password_login_changed", "sample-domains_password_login"),
    ]
    assert all(e["actor"] == {"kind": "user", "email": "owner@acme.test", "role": "owner"} for e in newest)
    assert body["next_cursor"] is None or len(body["entries"]) == 20  # the event asks for limit=20
