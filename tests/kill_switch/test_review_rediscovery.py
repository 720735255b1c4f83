"""Review finding 9: a domain deleted and verified again is routed to its connection again.

Deleting a domain drops its routing pointer; re-adding and re-verifying it, then switching the connection back on,
did not restore the pointer, so discovery sent the domain's users to password login and password login could no
longer be switched off. Switching a connection on now (re)writes the routing of each of its domains.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import error_code
from tests.support.sso_world import SsoWorld, code_of

pytestmark = pytest.mark.integration


def _discover(world: SsoWorld, email: str = "alice@acme.test") -> dict[str, Any]:
    resp = world.api.call("POST", "/login/discover", {"email": email})
    assert resp.status == 200, resp.text
    return dict(resp.json())


def _status(world: SsoWorld, enabled: bool, connection_id: str | None = None) -> Any:
    return world.owner("PUT", f"/connections/{connection_id or world.connection_id}/status", {"enabled": enabled})


def _password_login(world: SsoWorld, enabled: bool) -> Any:
    return world.owner("PUT", f"/domains/{world.domain}/password-login", {"enabled": enabled})


def test_delete_add_verify_enable_routes_the_domain_again(proven: SsoWorld) -> None:
    assert _password_login(proven, False).status == 200
    assert _status(proven, False).status == 200  # password login comes back on with it
    assert proven.owner("DELETE", f"/domains/{proven.domain}").status == 204
    assert _discover(proven)["method"] == "password"

    proven.dns.store.clear()
    proven.verify_domain()
    resp = _status(proven, True)
    assert resp.status == 200, resp.text
    found = _discover(proven)
    assert found["method"] == "sso", found
    assert code_of(proven.login())
    resp = _password_login(proven, False)
    assert resp.status == 200, resp.text
    assert _discover(proven)["password_allowed"] is False


def test_switching_on_does_not_take_a_domain_from_the_tenants_other_connection(proven: SsoWorld) -> None:
    assert _status(proven, False).status == 200
    assert proven.owner("DELETE", f"/domains/{proven.domain}").status == 204
    proven.dns.store.clear()
    proven.verify_domain()
    # The tenant connects the re-verified domain to a new connection; the old one still lists it.
    newer = proven.owner("POST", "/connections", {"domains": [proven.domain]})
    assert newer.status == 201, newer.text
    resp = _status(proven, True)  # the old connection
    assert resp.status == 409 and error_code(resp) == "domain_has_connection", resp.text
    assert proven.owner("GET", f"/connections/{proven.connection_id}").json()["status"] == "disabled"
