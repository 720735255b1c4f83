"""The rotation seen from outside, over the API of the local stack's gateway: after ``stage`` the metadata publishes
both signing certificates and requests still verify with the current one; after ``switch`` they verify with the new
one while a login started before the switch still completes; after ``retire`` one certificate is left. Owners of a
tenant whose connection signs its requests get one notice each; a tenant without signed requests gets none."""

from __future__ import annotations

import pytest

from sso_local.saml_idp import IdpKeys
from tests.support.sp_key_rotation import rotate, signing_certificates, stored, verifies
from tests.support.sso_world import SsoWorld, code_of
from tests.support.tampering import cert_body

pytestmark = pytest.mark.integration

NOTICE_SUBJECT = "Action needed before"


def _certificate(world: SsoWorld, which: str | None = None) -> tuple[int, str]:
    query = f"which={which}" if which else ""
    resp = world.api.call("GET", f"/saml/{world.connection_id}/certificate", query=query)
    return resp.status, resp.text


def _next_certificate(world: SsoWorld) -> object:
    resp = world.owner("GET", f"/connections/{world.connection_id}")
    assert resp.status == 200, resp.text
    return resp.json()["sp"]["next_certificate"]


def test_stage_switch_retire_without_an_outage(world: SsoWorld, sp_keypair: tuple[str, str]) -> None:
    old_cert = sp_keypair[1]
    assert signing_certificates(world.sp_metadata()) == [cert_body(old_cert)]
    assert _certificate(world, "next")[0] == 404
    assert _next_certificate(world) is None

    staged = rotate("stage", days=30)
    assert staged["status"] == 200, staged
    new_cert = stored()["next"]["cert_pem"]
    # Both certificates published; the certificate route keeps serving the current one, ?which=next the new one.
    assert signing_certificates(world.sp_metadata()) == [cert_body(old_cert), cert_body(new_cert)]
    assert _certificate(world) == (200, old_cert)
    assert _certificate(world, "next") == (200, new_cert)
    shown = _next_certificate(world)
    assert shown == {
        "fingerprint": staged["sp_key"]["next"]["fingerprint"],
        "not_after": staged["sp_key"]["next"]["not_after"],
        "switch_at": staged["sp_key"]["next"]["switch_at"],
    }
    # Requests are still signed with the current key only.
    before_switch = world.start()
    assert verifies(before_switch.saml_request_xml, old_cert)
    assert not verifies(before_switch.saml_request_xml, new_cert)

    switched = rotate("switch", force=True)
    assert switched["status"] == 200, switched
    assert signing_certificates(world.sp_metadata()) == [cert_body(new_cert), cert_body(old_cert)]
    assert _certificate(world) == (200, new_cert)
    missing = world.api.call("GET", f"/saml/{world.connection_id}/certificate", query="which=next")
    assert missing.status == 404 and missing.json()["error"]["code"] == "next_certificate_not_staged"
    assert _next_certificate(world) is None
    after_switch = world.start()
    assert verifies(after_switch.saml_request_xml, new_cert)
    assert not verifies(after_switch.saml_request_xml, old_cert)
    # The login started before the switch completes: the answer to its request is still accepted.
    completed = world.post_acs(world.response_b64(before_switch.request_id), before_switch.cookies)
    redeemed = world.redeem(code_of(completed))
    assert redeemed.status == 200 and redeemed.json()["user"]["email"] == "alice@acme.test"
    # And so does one started after it.
    assert world.post_acs(world.response_b64(after_switch.request_id), after_switch.cookies).status == 302

    assert rotate("retire")["status"] == 200
    assert signing_certificates(world.sp_metadata()) == [cert_body(new_cert)]


def test_the_certificate_route_refuses_an_unknown_choice(world: SsoWorld) -> None:
    resp = world.api.call("GET", f"/saml/{world.connection_id}/certificate", query="which=%3Cscript%3E")
    assert resp.status == 400 and resp.json()["error"]["code"] == "invalid_request"
    assert "<script>" not in resp.text


def test_owners_of_tenants_with_signed_requests_get_one_notice_each(world: SsoWorld, acme_idp_keys: IdpKeys) -> None:
    from tests.support.sso_world import idp_keys

    globex = SsoWorld(
        world.api,
        world.dns,
        world.outbox,
        tenant="globex",
        domain="globex.test",
        idp_entity_id="https://sts.windows.net/globex-tenant-id/",
        idp_sso_url="https://login.microsoftonline.example/globex/saml2",
        keys=idp_keys("globex-idp"),
    ).setup("gina@globex.test")
    globex.invite_and_accept("gus@globex.test", role="owner")
    assert globex.owner("PATCH", f"/connections/{globex.connection_id}", {"signed_requests": False}).status == 200

    staged = rotate("stage", days=14)
    assert staged["sp_key"]["owners_notified"] == 1, staged
    notices = _notices(world)
    assert [to for to, _ in notices] == ["olga@acme.test"]
    (text,) = [body for _, body in notices]
    assert staged["sp_key"]["next"]["fingerprint"] in text
    assert f"/saml/{world.connection_id}/certificate?which=next" in text


def _notices(world: SsoWorld) -> list[tuple[str, str]]:
    from email import message_from_bytes

    found = []
    for path in sorted(world.outbox.glob("*.eml")):
        msg = message_from_bytes(path.read_bytes())
        if str(msg["Subject"]).startswith(NOTICE_SUBJECT):
            body = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
            found.append((str(msg["To"]), body.decode() if isinstance(body, bytes) else str(body)))
    return found
