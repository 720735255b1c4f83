"""Review finding 1: an IdP entity ID is not claimed globally; isolation comes from each connection's own
audience, ACS URL and certificates.

Two tenants configure the same IdP (same issuer, same signing certificate, as two customers of one multi-tenant
IdP, or a squatter naming a victim's Entra directory): both imports succeed, each signs in at its own ACS, and a
response the IdP issued for one tenant's SP is refused at the other's. A tenant's two connections that share an
entity ID can each change it.
"""

from __future__ import annotations

import pytest

from tests.support.sso_checks import b64, refused, stored_items
from tests.support.sso_world import SsoWorld, code_of

pytestmark = pytest.mark.integration


@pytest.fixture
def twin(ready: SsoWorld) -> SsoWorld:
    """A second tenant whose connection names acme's IdP entity ID and certificate (configured second)."""
    other = SsoWorld(
        ready.api,
        ready.dns,
        ready.outbox,
        tenant="globex",
        domain="globex.test",
        idp_entity_id=ready.idp_entity_id,
        idp_sso_url=ready.idp_sso_url,
        keys=ready.keys,
    )
    return other.setup("gina@globex.test")


def test_two_tenants_may_name_the_same_idp_and_each_signs_in_at_its_own_acs(ready: SsoWorld, twin: SsoWorld) -> None:
    assert twin.owner("GET", f"/connections/{twin.connection_id}").json()["idp"]["entity_id"] == ready.idp_entity_id
    assert ready.redeem(code_of(ready.login())).json()["user"]["tenant_id"] == "acme"
    assert twin.redeem(code_of(twin.login("gina@globex.test"))).json()["user"]["tenant_id"] == "globex"
    assert not stored_items("idp_entity")  # no global claim item is written any more


def test_neither_can_sign_in_at_the_others_acs(ready: SsoWorld, twin: SsoWorld) -> None:
    # The shared IdP issues a response for globex's SP; it is posted to acme's ACS from a browser that started
    # an acme login (and the other way round). Same issuer, same certificate: the audience decides.
    started = ready.start()
    for_twin = twin.response_xml(started.request_id, email="alice@acme.test")
    entry = refused(ready, ready.post_acs(b64(for_twin), started.cookies, started.relay_state), "wrong_destination")
    assert entry["reason"] == "wrong_destination"

    started = twin.start("gina@globex.test")
    for_acme = ready.response_xml(started.request_id, email="gina@globex.test")
    refused(twin, twin.post_acs(b64(for_acme), started.cookies, started.relay_state), "wrong_destination")

    # Even with the Destination pointed at acme's ACS (an assertion the IdP really issued for globex's SP), the
    # audience and recipient are globex's: refused.
    started = ready.start()
    assertion_for_twin = ready.idp.response_xml(  # type: ignore[union-attr]
        sp_entity_id=twin.sp["entity_id"],
        acs_url=ready.sp["acs_url"],
        in_response_to=started.request_id,
        name_id="alice@acme.test",
    )
    refused(ready, ready.post_acs(b64(assertion_for_twin), started.cookies, started.relay_state), "wrong_audience")


def test_a_tenants_two_connections_sharing_an_entity_id_can_change_it(ready: SsoWorld) -> None:
    ready.verify_domain("acme-eu.test")
    second = ready.owner("POST", "/connections", {"domains": ["acme-eu.test"]}).json()["id"]
    same = {"entity_id": ready.idp_entity_id, "sso_url": ready.idp_sso_url, "certificates": [ready.keys.cert_pem]}
    assert ready.owner("PUT", f"/connections/{second}/idp", same).status == 200
    moved = {**same, "entity_id": "https://sts.windows.net/acme-eu-tenant-id/"}
    for conn in (ready.connection_id, second):
        resp = ready.owner("PUT", f"/connections/{conn}/idp", moved)
        assert resp.status == 200, resp.text
        assert resp.json()["idp"]["entity_id"] == moved["entity_id"]
    back = ready.owner("PUT", f"/connections/{ready.connection_id}/idp", same)
    assert back.status == 200, back.text
