"""docs/security.md, "SAML at the ACS", end to end: one test per line, through the gateway to POST /saml/{id}/acs.

Every hostile message starts as a response genuinely signed by a real IdP (pysaml2's IdP side, Entra-shaped) for
a request this browser started, is changed by tree surgery (tests/support/tampering.py), and is posted with
the browser's cookies. Each refusal is checked the way docs/security.md defines "reject": the generic page with a
reference, no code, no session, and the specific reason in the connection's login trace under that reference.
The engine's own tests (tests/saml_engine) cover every variant; here one representative per line is enough,
except for the lines only the HTTP layer owns (7, 8, 9, 12, 15, 16, 17).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import xmlsec
from lxml import etree

from sso_core.saml.certificates import certificate_der
from sso_core.saml.xml_names import NS_DS, NS_SAML, NS_SAMLP
from sso_local.saml_idp import RealIdp
from tests.support import tampering
from tests.support.keys import make_keypair
from tests.support.sso_checks import b64, codes_issued, post, refused, stored_items
from tests.support.sso_world import SsoWorld, code_of, reference_of
from tests.support.tampering import assertion_of, encrypted_assertion, one, resign

pytestmark = pytest.mark.integration

VICTIM = "ceo@acme.test"  # an invited, accepted admin: the identity an attacker wants
SKEW = 120  # Settings.clock_skew_seconds by default
C = xmlsec.constants


@pytest.fixture
def victim(ready: SsoWorld) -> SsoWorld:
    ready.invite_and_accept(VICTIM, role="admin")
    return ready


def _time(value: str | None) -> datetime:
    assert value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed_by_idp(world: SsoWorld, xml: str, change) -> etree._Element:
    """The IdP itself signs an assertion with this change (a genuine assertion, meant for something else)."""
    root = tampering.parse(xml)
    assertion = assertion_of(root)
    change(assertion)
    resign(assertion, world.keys.key_pem, world.keys.cert_pem)
    return root


# 1. Signature wrapping ------------------------------------------------------------------------------


def test_1_signature_wrapping_never_signs_in_the_victim(victim: SsoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """XSW1-XSW8 and the Advice variant, the clone naming the victim: each refused at the assertion count."""
    monkeypatch.setattr(tampering, "EVIL", VICTIM)
    for variant in sorted(tampering.XSW):
        started = victim.start()
        signed_response = variant in tampering.RESPONSE_WRAPPING
        root = tampering.XSW[variant](
            tampering.parse(victim.response_xml(started.request_id, sign_response=signed_response))
        )
        assert VICTIM in tampering.serialise(root), variant
        entry = refused(victim, post(victim, root, started), "assertion_count")
        assert entry["email_domain"] is None, variant  # refused before any identity was read
    assert codes_issued() == 0


# 2. Signature exclusion -----------------------------------------------------------------------------


def test_2_signature_exclusion(victim: SsoWorld) -> None:
    started = victim.start()
    root = tampering.parse(victim.response_xml(started.request_id, sign_response=True))
    for signature in list(root.iter(f"{{{NS_DS}}}Signature")):
        tampering.remove(signature)
    tampering.set_name_id(assertion_of(root), VICTIM)
    refused(victim, post(victim, root, started), "unsigned")

    started = victim.start()
    root = tampering.parse(victim.response_xml(started.request_id))
    one(assertion_of(root), "ds:Signature/ds:SignatureValue").text = ""
    refused(victim, post(victim, root, started), "unsigned")


# 3. Certificate faking ------------------------------------------------------------------------------


def test_3_resigned_with_an_attacker_key_shown_in_key_info(victim: SsoWorld) -> None:
    attacker = make_keypair("attacker")
    started = victim.start()
    root = tampering.parse(victim.response_xml(started.request_id))
    assertion = assertion_of(root)
    tampering.set_name_id(assertion, VICTIM)
    resign(assertion, attacker.key_pem, attacker.cert_pem)
    presented = one(assertion, "ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate").text
    assert certificate_der(presented) == certificate_der(attacker.cert_pem)
    refused(victim, post(victim, root, started), "unknown_certificate")


# 4. Algorithm confusion -----------------------------------------------------------------------------


def test_4_weak_algorithms_even_signed_by_the_idp_key(ready: SsoWorld) -> None:
    cases = {
        "rsa-sha1": {"sign_method": C.TransformRsaSha1},
        "sha1-digest": {"digest_method": C.TransformSha1},
        "hmac-with-the-public-certificate": {
            "sign_method": C.TransformHmacSha256,
            "hmac_secret": certificate_der(ready.keys.cert_pem),
        },
    }
    for name, arguments in cases.items():
        started = ready.start()
        root = tampering.parse(ready.response_xml(started.request_id))
        key = "" if "hmac_secret" in arguments else ready.keys.key_pem
        resign(assertion_of(root), key, ready.keys.cert_pem, **arguments)
        entry = refused(ready, post(ready, root, started), "weak_algorithm")
        assert entry["detail"], name


# 5. Comment injection -------------------------------------------------------------------------------


def _split_by_comment(assertion: etree._Element, registered: str, head: str) -> None:
    """``registered`` becomes ``head<!---->rest`` in the NameID and in every attribute value holding it."""
    targets = [one(assertion, "saml:Subject/saml:NameID")]
    targets += [v for v in assertion.iterfind(f".//{{{NS_SAML}}}AttributeValue") if v.text == registered]
    for node in targets:
        node.text = head
        comment = etree.Comment("")
        node.append(comment)
        comment.tail = registered[len(head) :]


def test_5_comment_injection_reads_the_whole_text(victim: SsoWorld) -> None:
    # The attacker owns ceo@acme.test.evil.com at the IdP; the comment cuts it after the victim's address.
    # Comments are outside exclusive C14N, so the IdP's signature still verifies: only the reading matters.
    started = victim.start()
    registered = VICTIM + ".evil.com"
    root = tampering.parse(victim.response_xml(started.request_id, registered))
    _split_by_comment(assertion_of(root), registered, VICTIM)
    message = etree.tostring(root)
    assert b"ceo@acme.test<!---->.evil.com" in message
    entry = refused(victim, post(victim, message, started), "domain_not_verified", 403)
    assert entry["email_domain"] == "acme.test.evil.com"  # the whole text, never "acme.test"

    # Where the whole text is a member, that member (and only that member) signs in.
    started = victim.start()
    root = tampering.parse(victim.response_xml(started.request_id, "alice@acme.test"))
    _split_by_comment(assertion_of(root), "alice@acme.test", "ali")
    code = code_of(post(victim, root, started))
    assert victim.redeem(code).json()["user"]["email"] == "alice@acme.test"


# 6. DOCTYPE and size, before any parser -------------------------------------------------------------


def _refuse_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an XML parser ran")

    import defusedxml.ElementTree

    for name in ("fromstring", "XML", "parse"):
        monkeypatch.setattr(etree, name, refuse)
    monkeypatch.setattr(defusedxml.ElementTree, "fromstring", refuse)


DOCTYPES = (
    '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE Response SYSTEM "http://attacker.example/saml.dtd">',
)


def test_6_doctype_is_refused_before_any_parser(ready: SsoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    for declaration in DOCTYPES:  # XXE, entity expansion, external DTD
        started = ready.start()
        message = declaration + ready.response_xml(started.request_id)
        with monkeypatch.context() as patch:
            _refuse_parsers(patch)
            resp = post(ready, message, started)
        refused(ready, resp, "doctype_forbidden")


def test_6_oversized_bodies_are_refused_before_decoding(ready: SsoWorld, monkeypatch) -> None:
    started = ready.start()
    padded = ready.response_xml(started.request_id) + " " * (200 * 1024)  # over 256 KiB once in base64
    with monkeypatch.context() as patch:
        _refuse_parsers(patch)
        resp = post(ready, padded, started)
    refused(ready, resp, "too_large")

    huge = ready.response_xml(started.request_id) + " " * (400 * 1024)  # the form itself is over 400 KiB
    with monkeypatch.context() as patch:
        _refuse_parsers(patch)
        resp = post(ready, huge, started)
    refused(ready, resp, "too_large", 413)


# 7. Replay (the concurrent half is in test_acs_concurrency.py) --------------------------------------


def test_7_the_same_response_twice_signs_in_once(ready: SsoWorld) -> None:
    started = ready.start()
    message = ready.response_xml(started.request_id)
    first = post(ready, message, started)
    assert first.status == 302
    refused(ready, post(ready, message, started), "replayed", 403)
    assert ready.redeem(code_of(first)).status == 200


# 8. Unsolicited -------------------------------------------------------------------------------------


def test_8_unsolicited_response_gets_its_own_page(ready: SsoWorld) -> None:
    started = ready.start()
    resp = post(ready, ready.response_xml(None), started)
    entry = refused(ready, resp, "unsolicited")
    assert "Sign-in must start from the application" in resp.text
    assert "start" in entry["detail"]


# 9. Foreign InResponseTo ----------------------------------------------------------------------------


def test_9_request_issued_to_another_browser(ready: SsoWorld) -> None:
    mine, theirs = ready.start(), ready.start()
    (name,) = mine.cookies
    (their_value,) = theirs.cookies.values()
    # The attacker knows the request ID (it is in the message) and so the cookie's name, not its value.
    message = ready.response_xml(mine.request_id)
    resp = ready.post_acs(b64(message), {name: their_value})
    refused(ready, resp, "request_other_browser")


def test_9_login_cookie_missing(ready: SsoWorld) -> None:
    mine, theirs = ready.start(), ready.start()
    refused(ready, ready.post_acs(ready.response_b64(mine.request_id)), "browser_binding_missing")
    # Another start's cookie, as sent, is named after that other request: the binding is still missing.
    refused(ready, ready.post_acs(ready.response_b64(mine.request_id), theirs.cookies), "browser_binding_missing")


def test_9_request_issued_for_another_connection(ready: SsoWorld, globex: SsoWorld) -> None:
    theirs = globex.start("gina@globex.test")
    message = ready.response_xml(theirs.request_id)  # acme's IdP answers globex's request, to acme's ACS
    resp = ready.post_acs(b64(message), theirs.cookies)
    refused(ready, resp, "request_other_connection")


def test_9_request_already_used_or_never_issued(ready: SsoWorld) -> None:
    started = ready.start()
    assert post(ready, ready.response_xml(started.request_id), started).status == 302
    fresh = ready.response_xml(started.request_id)  # a new assertion for the used request
    refused(ready, post(ready, fresh, started), "request_unknown")

    invented = ready.response_xml("_" + "ab" * 20)
    refused(ready, post(ready, invented, started), "request_unknown")


def test_9_response_and_assertion_answering_different_requests(ready: SsoWorld) -> None:
    started, other = ready.start(), ready.start()
    root = tampering.parse(ready.response_xml(started.request_id))
    root.set("InResponseTo", other.request_id)  # the Response is unsigned; only the signed one counts
    refused(ready, post(ready, root, started), "in_response_to_mismatch")


# 10. Audience, Destination, Recipient, Issuer -------------------------------------------------------


def test_10_wrong_audience_destination_recipient_issuer(ready: SsoWorld) -> None:
    elsewhere = "https://other-sp.example/saml/acs"

    def audience(assertion: etree._Element) -> None:
        one(assertion, "saml:Conditions/saml:AudienceRestriction/saml:Audience").text = "https://other-sp.example"

    def recipient(assertion: etree._Element) -> None:
        one(assertion, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData").set("Recipient", elsewhere)

    def assertion_issuer(assertion: etree._Element) -> None:
        one(assertion, "saml:Issuer").text = "https://sts.windows.net/someone-else/"

    for reason, change in (
        ("wrong_audience", audience),
        ("wrong_recipient", recipient),
        ("wrong_issuer", assertion_issuer),
    ):
        started = ready.start()
        root = _signed_by_idp(ready, ready.response_xml(started.request_id), change)
        refused(ready, post(ready, root, started), reason)

    started = ready.start()
    root = tampering.parse(ready.response_xml(started.request_id))
    root.set("Destination", elsewhere)
    refused(ready, post(ready, root, started), "wrong_destination")

    started = ready.start()  # a signed Response must carry our Destination
    root = tampering.parse(ready.response_xml(started.request_id, sign_response=True))
    del root.attrib["Destination"]
    resign(root, ready.keys.key_pem, ready.keys.cert_pem)
    refused(ready, post(ready, root, started), "wrong_destination")

    started = ready.start()
    root = tampering.parse(ready.response_xml(started.request_id))
    one(root, "saml:Issuer").text = "https://sts.windows.net/someone-else/"
    refused(ready, post(ready, root, started), "wrong_issuer")


# 11. Time, at the edges (the ACS's clock moved by hand) ---------------------------------------------


def test_11_not_on_or_after_at_the_edge(ready: SsoWorld, acs_clock) -> None:
    clock = acs_clock()
    short_lived = RealIdp(ready.idp_entity_id, ready.idp_sso_url, ready.keys, ready.sp_metadata(), lifetime_minutes=1)

    def post_at(offset: int):
        started = ready.start()
        message = ready.response_xml(started.request_id, idp=short_lived)
        not_on_or_after = one(assertion_of(tampering.parse(message)), "saml:Conditions").get("NotOnOrAfter")
        clock.now = _time(not_on_or_after) + timedelta(seconds=SKEW + offset)
        return post(ready, message, started)

    assert post_at(-1).status == 302
    entry = refused(ready, post_at(0), "expired")
    assert "NotOnOrAfter" in entry["detail"]


def test_11_subject_confirmation_not_on_or_after_at_the_edge(ready: SsoWorld, acs_clock) -> None:
    clock = acs_clock()

    def post_at(offset: int):
        started = ready.start()
        xml = ready.response_xml(started.request_id)
        short = _time(tampering.parse(xml).get("IssueInstant")) + timedelta(seconds=30)

        def thirty_seconds(assertion: etree._Element) -> None:
            one(assertion, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData").set(
                "NotOnOrAfter", _instant(short)
            )

        root = _signed_by_idp(ready, xml, thirty_seconds)
        clock.now = short + timedelta(seconds=SKEW + offset)
        return post(ready, root, started)

    assert post_at(-1).status == 302
    entry = refused(ready, post_at(0), "expired")
    assert "SubjectConfirmationData" in entry["detail"]


def test_11_future_not_before_at_the_edge(ready: SsoWorld, acs_clock) -> None:
    clock = acs_clock()

    def post_at(offset: int):
        started = ready.start()
        xml = ready.response_xml(started.request_id)
        later = _time(tampering.parse(xml).get("IssueInstant")) + timedelta(minutes=5)

        def not_yet(assertion: etree._Element) -> None:
            one(assertion, "saml:Conditions").set("NotBefore", _instant(later))

        root = _signed_by_idp(ready, xml, not_yet)
        clock.now = later - timedelta(seconds=SKEW - offset)
        return post(ready, root, started)

    entry = refused(ready, post_at(-1), "not_yet_valid")
    assert "NotBefore" in entry["detail"]
    assert post_at(0).status == 302


# 12. Cross-tenant -----------------------------------------------------------------------------------


def test_12_response_signed_by_another_tenants_idp(ready: SsoWorld, globex: SsoWorld) -> None:
    started = ready.start()
    # globex's IdP answering acme's request, as it would answer globex's own SP...
    as_for_globex = globex.response_xml(started.request_id, "alice@acme.test")
    refused(ready, ready.post_acs(b64(as_for_globex), started.cookies), "unknown_certificate")
    # ...and addressed to acme's SP, even claiming acme's IdP as issuer.
    assert globex.idp is not None
    globex_idp_for_acme = RealIdp(ready.idp_entity_id, globex.idp_sso_url, globex.keys, ready.sp_metadata())
    started = ready.start()
    forged = ready.response_xml(started.request_id, idp=globex_idp_for_acme)
    refused(ready, post(ready, forged, started), "unknown_certificate")


def test_12_email_in_a_domain_the_tenant_has_not_verified(ready: SsoWorld, globex: SsoWorld) -> None:
    started = ready.start(None)
    entry = refused(
        ready,
        post(ready, ready.response_xml(started.request_id, "gina@globex.test"), started),
        "domain_not_verified",
        403,
    )
    assert entry["email_domain"] == "globex.test"


def test_12_connection_domain_whose_verification_was_lost(ready: SsoWorld) -> None:
    from sso_core.config import get_settings
    from sso_core.dal.domains import DomainRepository
    from sso_core.dal.table import Table
    from sso_core.models.domains import DomainStatus

    repo = DomainRepository(Table(get_settings().table_name))
    claim = repo.get_claim(ready.domain, ready.tenant)
    assert claim is not None
    repo.save_claim(claim.model_copy(update={"status": DomainStatus.EXPIRED}), claim.version)  # as a DNS check would
    started = ready.start()
    entry = refused(ready, post(ready, ready.response_xml(started.request_id), started), "domain_not_verified", 403)
    assert entry["email_domain"] == "acme.test"


# 13. Assertion count --------------------------------------------------------------------------------


def test_13_exactly_one_assertion(ready: SsoWorld) -> None:
    def zero(root: etree._Element) -> None:
        tampering.remove(assertion_of(root))

    def two(root: etree._Element) -> None:
        root.append(assertion_of(tampering.parse(ready.response_xml(started.request_id, VICTIM))))  # both genuine

    def plain_and_encrypted(root: etree._Element) -> None:
        root.append(encrypted_assertion(copy.deepcopy(assertion_of(root)), ready_sp_certificate))

    def hidden_in_advice(root: etree._Element) -> None:
        tampering.advice_wrapping(root)

    ready_sp_certificate = ready.api.call("GET", f"/saml/{ready.connection_id}/certificate").text
    for change in (zero, two, plain_and_encrypted, hidden_in_advice):
        started = ready.start()
        root = tampering.parse(ready.response_xml(started.request_id))
        change(root)
        refused(ready, post(ready, root, started), "assertion_count")


# 14. Status -----------------------------------------------------------------------------------------


def test_14_non_success_status_names_its_codes(ready: SsoWorld) -> None:
    started = ready.start()
    assert ready.idp is not None
    xml = ready.idp.error_response_xml(
        acs_url=ready.sp["acs_url"],
        in_response_to=started.request_id,
        second_level="urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
    )
    entry = refused(ready, post(ready, xml, started), "status_not_success")
    assert "urn:oasis:names:tc:SAML:2.0:status:Responder" in entry["detail"]
    assert "urn:oasis:names:tc:SAML:2.0:status:RequestDenied" in entry["detail"]

    started = ready.start()  # a success response whose status was changed
    root = tampering.parse(ready.response_xml(started.request_id))
    code = one(root, "samlp:Status/samlp:StatusCode")
    code.set("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
    etree.SubElement(code, f"{{{NS_SAMLP}}}StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed")
    entry = refused(ready, post(ready, root, started), "status_not_success")
    assert "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed" in entry["detail"]


# 15. RelayState -------------------------------------------------------------------------------------


RETURN_PATHS = {
    "https://evil.example": "/",
    "//evil.example": "/",
    "/\\evil.example": "/",
    "javascript:alert(1)": "/",
    "/inbox?folder=2": "/inbox?folder=2",
}


def test_15_return_path_is_stored_same_origin_only(ready: SsoWorld) -> None:
    for return_to, stored in RETURN_PATHS.items():
        started = ready.start(return_to=return_to)
        assert return_to not in started.relay_state  # the RelayState names nothing the browser chose
        # A RelayState posted to the ACS is never followed either.
        resp = ready.post_acs(ready.response_b64(started.request_id), started.cookies, "https://evil.example")
        assert resp.status == 302, return_to
        parts = urlsplit(resp.header("location") or "")
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://app.test/sso/callback"
        assert set(parse_qs(parts.query)) == {"code"}
        assert ready.redeem(code_of(resp)).json()["return_to"] == stored, return_to


# 16. Kill switch ------------------------------------------------------------------------------------


def test_16_disabled_between_start_and_acs(ready: SsoWorld) -> None:
    started = ready.start()
    message = ready.response_xml(started.request_id)
    switched = ready.owner("PUT", f"/connections/{ready.connection_id}/status", {"enabled": False})
    assert switched.status == 200 and switched.json()["status"] == "disabled"
    refused(ready, post(ready, message, started), "connection_disabled", 403)
    assert ready.api.call("GET", f"/saml/{ready.connection_id}/login").status == 404


# 17. Not invited ------------------------------------------------------------------------------------


def test_17_only_active_members_sign_in(ready: SsoWorld) -> None:
    def login(email: str):
        started = ready.start(email)
        return post(ready, ready.response_xml(started.request_id, email), started)

    refused(ready, login("nobody@acme.test"), "user_not_invited", 403)

    ready.invite_only("bob@acme.test")
    refused(ready, login("bob@acme.test"), "invitation_not_accepted", 403)

    ready.invite_only("rita@acme.test")
    invitations = ready.owner("GET", "/invitations").json()["invitations"]
    (rita,) = [i for i in invitations if i["email"] == "rita@acme.test"]
    assert ready.owner("DELETE", f"/invitations/{rita['id']}").status == 204
    refused(ready, login("rita@acme.test"), "user_not_invited", 403)

    carol = ready.invite_and_accept("carol@acme.test")
    assert login("carol@acme.test").status == 302
    assert ready.owner("DELETE", f"/users/{carol['user_id']}").status in (200, 204)
    refused(ready, login("carol@acme.test"), "user_not_invited", 403)


# The ACS never answers with anything but its pages ---------------------------------------------------


def test_acs_failures_are_always_the_page(ready: SsoWorld) -> None:
    started = ready.start()
    refused(ready, ready.post_acs("", started.cookies), "malformed")
    refused(ready, ready.post_acs("not base64 at all!", started.cookies), "malformed")
    too_many_fields = "&".join(f"f{i}=x" for i in range(20))
    resp = ready.api.call(
        "POST",
        f"/saml/{ready.connection_id}/acs",
        raw_body=too_many_fields,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    refused(ready, resp, "malformed")


def test_acs_for_an_unknown_connection(ready: SsoWorld) -> None:
    started = ready.start()
    resp = ready.post_acs(ready.response_b64(started.request_id), started.cookies, connection_id="conn_unknown")
    assert resp.status == 400 and "SSO auth failed" in resp.text and reference_of(resp)
    assert resp.header("location") is None
    assert not stored_items("login_code") and ready.trace() == []  # no connection, no trace: the log has it


def test_acs_internal_error_shows_the_page(ready: SsoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from sso_core.logic.assertion_consumer import AcsService

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the table is on fire")

    monkeypatch.setattr(AcsService, "_check", broken)
    started = ready.start()
    resp = post(ready, ready.response_xml(started.request_id), started)
    assert resp.status == 500
    assert "SSO auth failed" in resp.text and "on fire" not in resp.text and "Traceback" not in resp.text
    assert (resp.header("content-type") or "").startswith("text/html") and reference_of(resp)
    assert resp.header("location") is None and not stored_items("login_code")
