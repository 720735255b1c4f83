"""A domain that SSO signs in cannot vanish under it; once released, its next owner can connect it."""

import pytest

from tests.support.sso_world import SsoWorld, code_of

pytestmark = pytest.mark.integration


def test_a_domain_an_enabled_connection_signs_in_cannot_be_deleted(ready: SsoWorld) -> None:
    resp = ready.owner("DELETE", f"/domains/{ready.domain}")
    assert resp.status == 409
    assert resp.json()["error"]["code"] == "domain_in_use"
    assert code_of(ready.login())  # SSO still works


def test_after_disabling_the_domain_goes_and_the_next_owner_connects_it(ready: SsoWorld, globex_idp_keys) -> None:
    ready.owner("PUT", f"/connections/{ready.connection_id}/status", {"enabled": False})
    assert ready.owner("DELETE", f"/domains/{ready.domain}").status == 204
    assert ready.api.call("POST", "/login/discover", {"email": "alice@acme.test"}).json()["method"] == "password"
    # Another organisation proves it owns the domain now and connects its own IdP to it.
    other = SsoWorld(
        ready.api,
        ready.dns,
        ready.outbox,
        tenant="globex",
        domain=ready.domain,
        idp_entity_id="https://sts.windows.net/globex-tenant-id/",
        idp_sso_url="https://login.microsoftonline.example/globex/saml2",
        keys=globex_idp_keys,
    )
    ready.dns.store.clear()
    other.setup("gina@acme.test")
    assert code_of(other.login("gina@acme.test"))
    # The old owner's connection cannot come back on for a domain it no longer holds.
    resp = ready.owner("PUT", f"/connections/{ready.connection_id}/status", {"enabled": True})
    assert resp.status == 409
    assert resp.json()["error"]["code"] == "domain_not_verified"
