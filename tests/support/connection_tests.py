"""The connection test from the outside: ask for the link (POST /connections/{id}/test), open it in a browser,
post the IdP's answer to the ACS."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from sso_local.gateway import GatewayResponse
from tests.support.sso_world import LoginStart, SsoWorld

ADMIN_EMAIL = "admin@acme.example"
ENTRA_50105 = (
    "AADSTS50105: Your administrator has configured the application acme-app ('00000000-0000-0000-0000-000000000001') "
    "to block users unless they are specifically granted ('assigned') access to the application. The signed in "
    "user 'victim.name@acme.test' is blocked because they are not a direct member of a group with access."
)


def ask_link(
    world: SsoWorld, role: str = "admin", email: str = ADMIN_EMAIL, tenant: str | None = None
) -> GatewayResponse:
    token = world.api.token(tenant or world.tenant, role, email)
    return world.api.call("POST", f"/connections/{world.connection_id}/test", token=token)


def link_of(world: SsoWorld, role: str = "admin", email: str = ADMIN_EMAIL) -> str:
    resp = ask_link(world, role, email)
    assert resp.status == 200, resp.text
    return str(resp.json()["redirect_url"])


def open_link(world: SsoWorld, url: str) -> GatewayResponse:
    parts = urlsplit(url)
    return world.api.call("GET", parts.path, query=parts.query)


def started_test(world: SsoWorld, role: str = "admin", email: str = ADMIN_EMAIL) -> LoginStart:
    """A test login started in a fresh browser: the AuthnRequest and the cookies (binding and test mark)."""
    return world.started_from(open_link(world, link_of(world, role, email)))


def run_test(world: SsoWorld, user: str = "alice@acme.test", **kwargs: Any) -> GatewayResponse:
    """A whole test login: link, start, the IdP's genuine response for ``user``, the ACS's answer."""
    started = started_test(world)
    return world.post_acs(world.response_b64(started.request_id, user, **kwargs), started.cookies, started.relay_state)


def idp_error(world: SsoWorld, started: LoginStart, second_level: str, message: str) -> GatewayResponse:
    """The IdP's error Response to ``started``, posted from the browser that started it."""
    assert world.idp is not None
    xml = world.idp.error_response_xml(
        acs_url=world.sp["acs_url"], in_response_to=started.request_id, second_level=second_level, message=message
    )
    return world.post_acs(base64.b64encode(xml.encode()).decode(), started.cookies, started.relay_state)
