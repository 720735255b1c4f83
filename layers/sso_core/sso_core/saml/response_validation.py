"""The ACS response validator: one function, the clock injected, one typed refusal.

Shaped after ssoready's ``internal/saml/validate.go``: ``validate_response`` takes the form
value and the connection, returns a ``ValidatedLogin`` or raises ``AcsRejected`` with a stable
reason code. It checks more than ssoready does (Recipient, Destination, SubjectConfirmationData
times, status, assertion count, signature placement).

Order of work:
1. refuse oversized input and any DOCTYPE/ENTITY on the raw text, then parse with a
   hardened parser;
2. structure before crypto: root, status, exactly one assertion (none encrypted, none
   nested), every ``ds:Signature`` where SAML puts it;
3. verify the assertion's signature (and the Response's, when present) with the stored
   certificates only, then canonicalise what the assertion signature covers and parse it
   again: every identity field is read from that copy and nowhere else;
4. issuer, destination, audience, recipient, time, bearer confirmation, InResponseTo;
5. pysaml2, configured for this connection with the same in-process backend, must accept
   the message as well (a second, independent implementation of the profile checks);
6. identity: NameID, email, the usual claims.
The first failing check names the reason; the detail never quotes the message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lxml import etree
from saml2 import response as saml2_response
from saml2 import sigver as saml2_sigver
from saml2 import validate as saml2_validate
from saml2.client import Saml2Client
from saml2.xml.schema import XMLSchemaError

from sso_core.log_safe import SENTENCE_LIMIT, bounded
from sso_core.models.emails import parse_email
from sso_core.models.idp_errors import IdpStatus, aadsts_code
from sso_core.models.login_outcomes import Refusal
from sso_core.saml import safe_xml
from sso_core.saml.certificates import CertificateFacts, shown_certificate
from sso_core.saml.crypto_backend import (
    DS_SIGNATURE,
    SignatureRejected,
    VerifiedSignature,
    already_verified,
    covered_copy,
    enveloped_signature,
    verify_element,
)
from sso_core.saml.pysaml2_config import IdpSettings, SpIdentity, backend_of, sp_client
from sso_core.saml.xml_names import (
    C14N_EXCLUSIVE,
    CM_BEARER,
    NAMEID_FORMAT_EMAIL,
    NAMEID_FORMAT_ENTITY,
    NAMEID_FORMAT_UNSPECIFIED,
    NS_DS,
    NS_SAML,
    NS_SAMLP,
    STATUS_SUCCESS,
    TRANSFORM_ENVELOPED,
    qname,
)

MAX_SKEW_SECONDS = 180
DEFAULT_MAX_BYTES = 256 * 1024
# pysaml2 refuses IssueInstant more than a day away; so do we, on the injected clock.
MAX_ISSUE_AGE = timedelta(days=1)

CLAIM_EMAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
CLAIM_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
CLAIM_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
CLAIM_GIVEN_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
CLAIM_SURNAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
CLAIM_OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
EMAIL_CLAIMS = (CLAIM_EMAIL, CLAIM_NAME, CLAIM_UPN, "email", "mail")

_SAMLP_RESPONSE = qname(NS_SAMLP, "Response")
_SAMLP_STATUS = qname(NS_SAMLP, "Status")
_SAMLP_STATUS_CODE = qname(NS_SAMLP, "StatusCode")
_SAMLP_STATUS_MESSAGE = qname(NS_SAMLP, "StatusMessage")
_SAML_ASSERTION = qname(NS_SAML, "Assertion")
_SAML_ENCRYPTED_ASSERTION = qname(NS_SAML, "EncryptedAssertion")
_SAML_ISSUER = qname(NS_SAML, "Issuer")
_SAML_SUBJECT = qname(NS_SAML, "Subject")
_SAML_NAME_ID = qname(NS_SAML, "NameID")
_SAML_CONDITIONS = qname(NS_SAML, "Conditions")
_SAML_AUDIENCE_RESTRICTION = qname(NS_SAML, "AudienceRestriction")
_SAML_AUDIENCE = qname(NS_SAML, "Audience")
_SAML_SUBJECT_CONFIRMATION = qname(NS_SAML, "SubjectConfirmation")
_SAML_SUBJECT_CONFIRMATION_DATA = qname(NS_SAML, "SubjectConfirmationData")
_SAML_AUTHN_STATEMENT = qname(NS_SAML, "AuthnStatement")
_SAML_ATTRIBUTE_STATEMENT = qname(NS_SAML, "AttributeStatement")
_SAML_ATTRIBUTE = qname(NS_SAML, "Attribute")
_SAML_ATTRIBUTE_VALUE = qname(NS_SAML, "AttributeValue")
_DS_SIGNED_INFO = qname(NS_DS, "SignedInfo")
_DS_C14N_METHOD = qname(NS_DS, "CanonicalizationMethod")
_DS_REFERENCE = qname(NS_DS, "Reference")
_DS_TRANSFORMS = qname(NS_DS, "Transforms")
_DS_TRANSFORM = qname(NS_DS, "Transform")

_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?")
_LOG_SAFE_URI = re.compile(r"[A-Za-z0-9:._/#-]{1,200}")


class AcsRejected(Exception):
    """The response is refused. ``reason``: its code in the one vocabulary (``models.login_outcomes.Refusal``;
    an unknown code fails here, so none can go unnamed); ``detail``: a log-safe sentence (no message content
    beyond the asserted email's domain)."""

    def __init__(
        self,
        reason: str,
        detail: str,
        idp_status: IdpStatus | None = None,
        certificate: CertificateFacts | None = None,
    ) -> None:
        detail = bounded(detail, SENTENCE_LIMIT)  # printable ASCII, capped: it goes to logs and the trace
        super().__init__(f"{reason}: {detail}")
        self.reason = Refusal(reason)
        self.detail = detail
        self.idp_status = idp_status  # status_not_success: the codes the IdP sent (models.idp_errors)
        # ``unknown_certificate``: what the signature's KeyInfo named, parsed for display only (never trusted).
        self.certificate = certificate


@dataclass(frozen=True)
class ValidatedLogin:
    issuer: str
    in_response_to: str
    response_id: str
    assertion_id: str
    # The earlier of Conditions/@NotOnOrAfter and SubjectConfirmationData/@NotOnOrAfter:
    # past it plus the skew the assertion is refused anyway, so the replay cache may forget it.
    assertion_not_on_or_after: datetime
    name_id: str
    name_id_format: str | None
    email: str
    email_domain: str
    given_name: str | None
    surname: str | None
    object_id: str | None
    session_index: str | None
    attributes: dict[str, list[str]] = field(hash=False)
    authn_instant: datetime | None
    response_signed: bool
    # A verifying certificate whose validity has ended (it still verifies; the trace warns): docs/decisions.md.
    expired_signer: CertificateFacts | None = None
    # The certificate (DER) that verified the assertion's signature: the connection test shows it.
    certificate_der: bytes = field(default=b"", hash=False, kw_only=True)


def validate_response(
    saml_response: str,
    *,
    sp: SpIdentity,
    idp: IdpSettings,
    now: datetime,
    skew_seconds: int = 120,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ValidatedLogin:
    """Validate the base64 ``SAMLResponse`` form value of an HTTP-POST to our ACS.

    Replay, the request-ID/cookie binding, the connection's enabled flag, tenant membership
    and verified domains are the caller's checks; the result carries what they need.
    """
    if not 0 <= skew_seconds <= MAX_SKEW_SECONDS:
        raise ValueError(f"skew_seconds must be between 0 and {MAX_SKEW_SECONDS}")
    now = _aware(now)
    skew = timedelta(seconds=skew_seconds)
    client = sp_client(sp, idp)
    trusted = backend_of(client).trusted

    try:
        text = safe_xml.decode_form_value(saml_response, max_bytes)
        root = safe_xml.parse(text)
    except safe_xml.UnsafeXml as exc:
        raise AcsRejected(exc.reason, exc.detail) from None

    _check_root(root)
    _check_status(root)
    assertion = _the_assertion(root)
    _check_signature_placement(root, assertion)
    try:
        assertion_key = verify_element(assertion, trusted)
        _check_exclusive_canonicalization(assertion)
        verified = [VerifiedSignature(text, f"{NS_SAML}:Assertion", assertion.get("ID") or "", assertion_key.der)]
        response_signed = enveloped_signature(root) is not None
        if response_signed:
            response_key = verify_element(root, trusted)
            _check_exclusive_canonicalization(root)
            verified.append(VerifiedSignature(text, f"{NS_SAMLP}:Response", root.get("ID") or "", response_key.der))
        signed = covered_copy(assertion)
    except SignatureRejected as exc:
        shown = shown_certificate(exc.presented) if exc.presented else None
        raise AcsRejected(exc.reason, exc.detail, certificate=shown) from None
    except safe_xml.UnsafeXml as exc:
        raise AcsRejected("malformed", exc.detail) from None

    if signed.get("Version") != "2.0":
        raise AcsRejected("malformed", "The assertion is not SAML 2.0.")
    _check_issuers(root, signed, idp)
    _check_destination(root, sp, response_signed)
    _check_issue_instant(root.get("IssueInstant"), "Response", now, skew)
    _check_issue_instant(signed.get("IssueInstant"), "Assertion", now, skew)
    conditions_not_on_or_after = _check_conditions(signed, sp, now, skew)
    confirmation = _check_subject_confirmation(signed, sp, now, skew)
    in_response_to = _check_in_response_to(root, confirmation)
    authn_instant, session_index = _check_authn_statement(signed, now, skew)

    name_id, name_id_format = _name_id(signed)
    with already_verified(*verified):  # pysaml2 re-checks the same bytes: the answer is known
        _second_opinion(
            client,
            text,
            sp,
            in_response_to,
            _library_slack(now, skew_seconds),
            assertion_id=signed.get("ID") or "",
            name_id=name_id,
        )

    attributes = _attributes(signed)
    email = _email(name_id, name_id_format, attributes)
    if email is None:
        raise AcsRejected("no_email", "No email address in the NameID or in the usual email claims.")
    scd_not_on_or_after = _instant(confirmation.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter")
    not_on_or_after = min(t for t in (conditions_not_on_or_after, scd_not_on_or_after) if t is not None)
    issuer = _text(signed.find(_SAML_ISSUER))
    return ValidatedLogin(
        issuer=issuer,
        in_response_to=in_response_to,
        response_id=root.get("ID") or "",
        assertion_id=signed.get("ID") or "",
        assertion_not_on_or_after=not_on_or_after,
        name_id=name_id,
        name_id_format=name_id_format,
        email=email,
        email_domain=email.rpartition("@")[2],
        given_name=_first(attributes, CLAIM_GIVEN_NAME),
        surname=_first(attributes, CLAIM_SURNAME),
        object_id=_first(attributes, CLAIM_OBJECT_ID),
        session_index=session_index,
        attributes=attributes,
        authn_instant=authn_instant,
        response_signed=response_signed,
        expired_signer=_expired_signer([v.der for v in verified], now),
        certificate_der=assertion_key.der,
    )


def _expired_signer(ders: list[bytes], now: datetime) -> CertificateFacts | None:
    """The first verifying certificate past its notAfter, or None. Its dates are a warning, not a refusal."""
    for der in dict.fromkeys(ders):
        facts = shown_certificate(der)
        if facts is not None and facts.not_after <= now:
            return facts
    return None


# --- structure, before any signature is trusted -------------------------------------------------


def _check_root(root: etree._Element) -> None:
    if root.tag != _SAMLP_RESPONSE:
        raise AcsRejected("malformed", "The message is not a SAML Response.")
    if root.get("Version") != "2.0":
        raise AcsRejected("malformed", "The Response is not SAML 2.0.")
    if not root.get("ID") or not root.get("IssueInstant"):
        raise AcsRejected("malformed", "The Response has no ID or IssueInstant.")


def _check_status(root: etree._Element) -> None:
    # Read before the signature is checked: a failed login is often unsigned, and an attacker
    # who forges a failure status can only make the login fail.
    statuses = root.findall(_SAMLP_STATUS)
    if len(statuses) != 1:
        raise AcsRejected("malformed", "The Response must have exactly one Status.")
    code = statuses[0].find(_SAMLP_STATUS_CODE)
    if code is None:
        raise AcsRejected("malformed", "The Response Status has no StatusCode.")
    value = code.get("Value") or ""
    if value == STATUS_SUCCESS:
        return
    second = code.find(_SAMLP_STATUS_CODE)
    codes = [_log_safe(value)]
    if second is not None:
        codes.append(_log_safe(second.get("Value") or ""))
    # Of the StatusMessage only Entra's error number is kept: the free text may quote the user or the request.
    aadsts = aadsts_code(statuses[0].findtext(_SAMLP_STATUS_MESSAGE))
    status = IdpStatus(codes[0], codes[1] if len(codes) > 1 else None, aadsts)
    found = f" ({aadsts})" if aadsts else ""
    detail = f"The IdP answered with status {' / '.join(codes)}{found}."
    raise AcsRejected("status_not_success", detail, idp_status=status)


def _the_assertion(root: etree._Element) -> etree._Element:
    encrypted = next(root.iter(_SAML_ENCRYPTED_ASSERTION), None)
    if encrypted is not None:
        raise AcsRejected("assertion_count", "The Response holds an EncryptedAssertion, which is not supported.")
    assertions = list(root.iter(_SAML_ASSERTION))
    if len(assertions) != 1:
        raise AcsRejected(
            "assertion_count", f"The Response holds {len(assertions)} assertions; exactly one is allowed."
        )
    assertion = assertions[0]
    if assertion.getparent() is not root:
        raise AcsRejected("assertion_count", "The assertion is not a direct child of the Response.")
    return assertion


def _check_signature_placement(root: etree._Element, assertion: etree._Element) -> None:
    for signature in root.iter(DS_SIGNATURE):
        parent = signature.getparent()
        if parent is not root and parent is not assertion:
            raise AcsRejected("wrapped_signature", "A signature sits where SAML never puts one.")
    try:
        enveloped_signature(root)
        enveloped_signature(assertion)
    except SignatureRejected as exc:
        raise AcsRejected(exc.reason, exc.detail) from None


def _check_exclusive_canonicalization(element: etree._Element) -> None:
    """SAML core 5.4.3-5.4.4: exclusive C14N. The backend's policy also allows inclusive C14N
    1.0/1.1, which pysaml2's profile check refuses; refusing here names the reason precisely."""
    signature = enveloped_signature(element)
    if signature is None:
        raise AcsRejected("unsigned", "The element is not signed.")
    algorithms = [node.get("Algorithm") for node in signature.iterfind(f"{_DS_SIGNED_INFO}/{_DS_C14N_METHOD}")] + [
        node.get("Algorithm")
        for node in signature.iterfind(f"{_DS_SIGNED_INFO}/{_DS_REFERENCE}/{_DS_TRANSFORMS}/{_DS_TRANSFORM}")
        if node.get("Algorithm") != TRANSFORM_ENVELOPED
    ]
    if any(algorithm != C14N_EXCLUSIVE for algorithm in algorithms):
        raise AcsRejected("unsupported_algorithm", "SAML signatures must use exclusive canonicalization.")


# --- profile checks on the verified assertion -----------------------------------------------------


def _check_issuers(root: etree._Element, signed: etree._Element, idp: IdpSettings) -> None:
    issuers = signed.findall(_SAML_ISSUER)
    if len(issuers) != 1 or not _is_entity_issuer(issuers[0], idp.entity_id):
        raise AcsRejected("wrong_issuer", "The assertion's Issuer is not the connection's IdP.")
    response_issuers = root.findall(_SAML_ISSUER)
    if len(response_issuers) > 1 or (response_issuers and not _is_entity_issuer(response_issuers[0], idp.entity_id)):
        raise AcsRejected("wrong_issuer", "The Response's Issuer is not the connection's IdP.")


def _is_entity_issuer(issuer: etree._Element, entity_id: str) -> bool:
    issuer_format = issuer.get("Format")
    return _text(issuer) == entity_id and issuer_format in (None, NAMEID_FORMAT_ENTITY)


def _check_destination(root: etree._Element, sp: SpIdentity, response_signed: bool) -> None:
    destination = root.get("Destination")
    if destination is None:
        # An unsigned Destination proves nothing; the signed binding to our ACS is the
        # assertion's bearer Recipient, which is always required. A signed Response must name us.
        if response_signed:
            raise AcsRejected("wrong_destination", "The signed Response has no Destination.")
        return
    if destination != sp.acs_url:
        raise AcsRejected("wrong_destination", "The Response's Destination is not this ACS URL.")


def _check_issue_instant(value: str | None, what: str, now: datetime, skew: timedelta) -> None:
    issued = _instant(value, f"{what} IssueInstant")
    if issued is None:
        raise AcsRejected("malformed", f"The {what} has no IssueInstant.")
    if issued > now + skew:
        raise AcsRejected("not_yet_valid", f"The {what} was issued in the future, beyond the clock skew.")
    if issued < now - MAX_ISSUE_AGE - skew:
        raise AcsRejected("expired", f"The {what} was issued more than a day ago.")


def _check_not_before(value: str | None, what: str, now: datetime, skew: timedelta) -> None:
    not_before = _instant(value, what)
    if not_before is not None and now < not_before - skew:
        raise AcsRejected("not_yet_valid", f"{what} is in the future, beyond the clock skew.")


def _check_not_on_or_after(value: str | None, what: str, now: datetime, skew: timedelta) -> datetime | None:
    not_on_or_after = _instant(value, what)
    if not_on_or_after is not None and now >= not_on_or_after + skew:
        raise AcsRejected("expired", f"{what} has passed, beyond the clock skew.")
    return not_on_or_after


def _check_conditions(signed: etree._Element, sp: SpIdentity, now: datetime, skew: timedelta) -> datetime | None:
    conditions = signed.findall(_SAML_CONDITIONS)
    if len(conditions) != 1:
        raise AcsRejected("wrong_audience", "The assertion has no Conditions, so no audience restriction.")
    element = conditions[0]
    _check_not_before(element.get("NotBefore"), "Conditions NotBefore", now, skew)
    not_on_or_after = _check_not_on_or_after(element.get("NotOnOrAfter"), "Conditions NotOnOrAfter", now, skew)
    restrictions = element.findall(_SAML_AUDIENCE_RESTRICTION)
    if not restrictions:
        raise AcsRejected("wrong_audience", "The assertion has no AudienceRestriction.")
    for restriction in restrictions:  # several restrictions all apply; audiences within one are alternatives
        if sp.entity_id not in (_text(a) for a in restriction.findall(_SAML_AUDIENCE)):
            raise AcsRejected("wrong_audience", "The assertion's Audience is not this SP's entity ID.")
    return not_on_or_after


def _check_subject_confirmation(
    signed: etree._Element, sp: SpIdentity, now: datetime, skew: timedelta
) -> etree._Element:
    subject = _single(signed, _SAML_SUBJECT, "The assertion must have exactly one Subject.")
    confirmations = subject.findall(_SAML_SUBJECT_CONFIRMATION)
    if not confirmations:
        raise AcsRejected("not_bearer", "The assertion has no SubjectConfirmation.")
    if any(c.get("Method") != CM_BEARER for c in confirmations):
        raise AcsRejected("not_bearer", "A SubjectConfirmation is not of the bearer method.")
    if len(confirmations) != 1:
        raise AcsRejected("invalid_assertion", "The assertion must have exactly one SubjectConfirmation.")
    data = _single(
        confirmations[0],
        _SAML_SUBJECT_CONFIRMATION_DATA,
        "The bearer SubjectConfirmation must have exactly one SubjectConfirmationData.",
    )
    if data.get("Recipient") != sp.acs_url:
        raise AcsRejected("wrong_recipient", "The bearer Recipient is not this ACS URL.")
    if not data.get("NotOnOrAfter"):
        raise AcsRejected("invalid_assertion", "The bearer SubjectConfirmationData has no NotOnOrAfter.")
    _check_not_before(data.get("NotBefore"), "SubjectConfirmationData NotBefore", now, skew)
    _check_not_on_or_after(data.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter", now, skew)
    return data


def _check_in_response_to(root: etree._Element, confirmation: etree._Element) -> str:
    signed_value = confirmation.get("InResponseTo")
    response_value = root.get("InResponseTo")
    if not signed_value or not response_value:
        raise AcsRejected(
            "unsolicited", "The response answers no AuthnRequest (no InResponseTo); sign-in must start here."
        )
    if signed_value != response_value:
        raise AcsRejected("in_response_to_mismatch", "The Response and its assertion answer different requests.")
    return signed_value


def _check_authn_statement(
    signed: etree._Element, now: datetime, skew: timedelta
) -> tuple[datetime | None, str | None]:
    statements = signed.findall(_SAML_AUTHN_STATEMENT)
    if len(statements) != 1:
        raise AcsRejected("invalid_assertion", "The assertion must have exactly one AuthnStatement.")
    statement = statements[0]
    _check_not_on_or_after(statement.get("SessionNotOnOrAfter"), "AuthnStatement SessionNotOnOrAfter", now, skew)
    return _instant(statement.get("AuthnInstant"), "AuthnInstant"), statement.get("SessionIndex")


# --- pysaml2's own verdict -----------------------------------------------------------------------

_LIBRARY_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (saml2_response.UnsolicitedResponse, "unsolicited"),
    (saml2_response.StatusError, "status_not_success"),
    (saml2_response.InvalidAssertion, "assertion_count"),
    (saml2_validate.ResponseLifetimeExceed, "expired"),
    (saml2_validate.ToEarly, "not_yet_valid"),
    (saml2_sigver.MissingKey, "unknown_certificate"),
    (saml2_sigver.SigverError, "signature_invalid"),
)


def _library_slack(now: datetime, skew_seconds: int) -> int:
    """pysaml2 reads the real clock and cannot be given ours. Its slack is our skew widened by
    the distance between the two clocks, so it never refuses on time what the injected clock
    accepts; in production the distance is under a second and both apply the same skew."""
    return skew_seconds + math.ceil(abs((datetime.now(UTC) - now).total_seconds()))


def _second_opinion(
    client: Saml2Client,
    text: str,
    sp: SpIdentity,
    in_response_to: str,
    slack_seconds: int,
    *,
    assertion_id: str,
    name_id: str,
) -> None:
    """pysaml2, with this connection's configuration and our backend, must accept the message
    too, and must have read the same assertion and NameID."""
    checker = saml2_response.AuthnResponse(
        client.sec,
        client.config.attribute_converters,
        sp.entity_id,
        return_addrs=[sp.acs_url],
        outstanding_queries={in_response_to: ""},
        timeslack=slack_seconds,
        asynchop=True,
        allow_unsolicited=False,
        want_assertions_signed=True,
        allow_unknown_attributes=True,
        conv_info={"entity_id": sp.entity_id},
    )
    try:
        checker.loads(text, False, origxml=text)
        verified = checker.verify()
    except SignatureRejected as exc:
        raise AcsRejected(exc.reason, exc.detail) from None
    except Exception as exc:  # noqa: BLE001 - any refusal by the library is a refusal
        if isinstance(exc.__cause__, XMLSchemaError):  # pysaml2's schema check of the signed element
            raise AcsRejected("malformed", "The assertion does not conform to the SAML schema.") from None
        reason = next((code for kind, code in _LIBRARY_REASONS if isinstance(exc, kind)), "library_rejected")
        raise AcsRejected(reason, f"pysaml2 refused the response ({type(exc).__name__}).") from None
    if verified is None or checker.assertion is None:
        raise AcsRejected("library_rejected", "pysaml2 refused the response.")
    their_name_id = checker.name_id.text.strip() if checker.name_id is not None and checker.name_id.text else ""
    if checker.assertion.id != assertion_id or their_name_id != name_id:
        raise AcsRejected("library_rejected", "pysaml2 read a different assertion or NameID.")


# --- identity, from the signed copy only ---------------------------------------------------------


def _name_id(signed: etree._Element) -> tuple[str, str | None]:
    subject = _single(signed, _SAML_SUBJECT, "The assertion must have exactly one Subject.")
    name_id = _single(subject, _SAML_NAME_ID, "The Subject must have exactly one plain NameID.")
    if len(name_id):
        raise AcsRejected("invalid_assertion", "The NameID has child elements.")
    value = _text(name_id)
    if not value:
        raise AcsRejected("invalid_assertion", "The NameID is empty.")
    return value, name_id.get("Format")


def _attributes(signed: etree._Element) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    for statement in signed.findall(_SAML_ATTRIBUTE_STATEMENT):
        for attribute in statement.findall(_SAML_ATTRIBUTE):
            name = attribute.get("Name")
            if not name:
                continue
            values = attributes.setdefault(name, [])
            values.extend("".join(v.itertext()).strip() for v in attribute.findall(_SAML_ATTRIBUTE_VALUE))
    return attributes


def _email(name_id: str, name_id_format: str | None, attributes: dict[str, list[str]]) -> str | None:
    if name_id_format in (NAMEID_FORMAT_EMAIL, NAMEID_FORMAT_UNSPECIFIED, None):
        email = parse_email(name_id)
        if email:
            return email
    for claim in EMAIL_CLAIMS:
        for value in attributes.get(claim, ()):
            email = parse_email(value)
            if email:
                return email
    return None


# --- small readers -------------------------------------------------------------------------------


def _single(parent: etree._Element, tag: str, detail: str) -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise AcsRejected("invalid_assertion", detail)
    element: etree._Element = found[0]
    return element


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _first(attributes: dict[str, list[str]], name: str) -> str | None:
    return next((v for v in attributes.get(name, ()) if v), None)


def _log_safe(value: str) -> str:
    return value if _LOG_SAFE_URI.fullmatch(value) else "(unrecognised)"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _instant(value: str | None, what: str) -> datetime | None:
    """An xs:dateTime; SAML says UTC, so a missing zone is read as UTC."""
    if value is None:
        return None
    match = _INSTANT.fullmatch(value.strip())
    if not match:
        raise AcsRejected("malformed", f"{what} is not a valid time.")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        instant = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError:
        raise AcsRejected("malformed", f"{what} is not a valid time.") from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        instant -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return instant
