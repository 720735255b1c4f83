"""Every way an SSO login can end: one vocabulary for the ACS engine, the ACS service, the trace and the pages.

Each refusal has one stable code (stored in the login trace, logged, counted in metrics), one HTTP status for the
"SSO auth failed" page, the sentence the administrator reads in the login trace (what happened, then what to
change), and the function that decides it. A refusal added without its sentence fails
``tests/sso/test_login_outcomes.py``; so does a code raised anywhere in the layer that is not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Refusal(StrEnum):
    # Before the message is read (the form, the connection)
    UNKNOWN_CONNECTION = "unknown_connection"
    CONNECTION_DISABLED = "connection_disabled"
    SSO_NOT_AVAILABLE = "sso_not_available"
    IDP_INCOMPLETE = "idp_incomplete"
    TOO_LARGE = "too_large"
    DOCTYPE_FORBIDDEN = "doctype_forbidden"
    MALFORMED = "malformed"
    # The message (the SAML engine)
    STATUS_NOT_SUCCESS = "status_not_success"
    ASSERTION_COUNT = "assertion_count"
    WRAPPED_SIGNATURE = "wrapped_signature"
    UNSIGNED = "unsigned"
    WEAK_ALGORITHM = "weak_algorithm"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    SIGNATURE_INVALID = "signature_invalid"
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_DESTINATION = "wrong_destination"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_RECIPIENT = "wrong_recipient"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNSOLICITED = "unsolicited"
    IN_RESPONSE_TO_MISMATCH = "in_response_to_mismatch"
    NOT_BEARER = "not_bearer"
    INVALID_ASSERTION = "invalid_assertion"
    NO_EMAIL = "no_email"
    LIBRARY_REJECTED = "library_rejected"
    # The login it answers, and who it names (the ACS service)
    REPLAYED = "replayed"
    REQUEST_UNKNOWN = "request_unknown"
    REQUEST_EXPIRED = "request_expired"
    REQUEST_OTHER_CONNECTION = "request_other_connection"
    REQUEST_OTHER_BROWSER = "request_other_browser"
    BROWSER_BINDING_MISSING = "browser_binding_missing"
    REQUEST_BEFORE_ENABLE = "request_before_enable"
    DOMAIN_NOT_VERIFIED = "domain_not_verified"
    USER_NOT_INVITED = "user_not_invited"
    INVITATION_NOT_ACCEPTED = "invitation_not_accepted"
    USER_DEACTIVATED = "user_deactivated"


@dataclass(frozen=True)
class RefusalInfo:
    status: int  # of the "SSO auth failed" page
    sentence: str  # what happened, for the administrator (login trace)
    fix: str  # what to change
    decided_by: str  # the function that decides it, as module:function under sso_core


_ENGINE = "saml.response_validation:validate_response"
_SIGNATURE = "saml.crypto_backend:verify_element"
_SHAPE = "saml.crypto_backend:check_signature_shape"
_SERVICE = "logic.assertion_consumer:AcsService._check"
_REQUEST = "dal.logins:LoginStateRepository.consume_request"
_MEMBER = "logic.memberships:member_for_sso_login"

# Refusals about who the user is or may be (403), as opposed to a malformed or mismatched message (400).
_FORBIDDEN = 403

REFUSALS: dict[Refusal, RefusalInfo] = {
    Refusal.UNKNOWN_CONNECTION: RefusalInfo(
        400,
        "The response was posted to an ACS URL of a connection that does not exist.",
        "Check the Reply URL (ACS) in the IdP: copy it again from the connection.",
        "logic.assertion_consumer:AcsService._connection",
    ),
    Refusal.CONNECTION_DISABLED: RefusalInfo(
        _FORBIDDEN,
        "Enterprise SSO is switched off for this connection, so no SSO login is accepted.",
        "Enable Enterprise SSO for the connection when it is ready.",
        _SERVICE,
    ),
    Refusal.SSO_NOT_AVAILABLE: RefusalInfo(
        _FORBIDDEN,
        "The organisation has no access to Enterprise SSO (support has not granted it, or has revoked it).",
        "Contact support or your account manager to enable the SAML SSO feature.",
        _SERVICE,
    ),
    Refusal.IDP_INCOMPLETE: RefusalInfo(
        400,
        "The connection has no identity provider configured yet.",
        "Import the IdP's metadata, or its entity ID, sign-in URL and certificate.",
        _SERVICE,
    ),
    Refusal.TOO_LARGE: RefusalInfo(
        400,  # the edge answers 413 itself for a form body it will not read (functions/acs)
        "The posted response was larger than any IdP sends (the form over 400 KiB or the SAMLResponse over 256 KiB).",
        "Nothing to change if you did not send it; otherwise remove unneeded claims from the IdP's token.",
        "saml.safe_xml:decode_form_value",
    ),
    Refusal.DOCTYPE_FORBIDDEN: RefusalInfo(
        400,
        "The response carried a DOCTYPE or entity declaration, which SAML never uses (a sign of an XXE attack).",
        "Nothing to change: this was not a genuine IdP response.",
        "saml.safe_xml:refuse_declarations",
    ),
    Refusal.MALFORMED: RefusalInfo(
        400,
        "The response could not be read as a SAML 2.0 Response (bad encoding, not XML, or missing parts).",
        "Make sure the IdP posts a SAML 2.0 Response with the HTTP-POST binding to the Reply URL (ACS).",
        _ENGINE,
    ),
    Refusal.STATUS_NOT_SUCCESS: RefusalInfo(
        400,
        "The identity provider answered with an error status instead of signing the user in.",
        "Read the status codes in the detail and look them up in the IdP's sign-in logs.",
        "saml.response_validation:_check_status",
    ),
    Refusal.ASSERTION_COUNT: RefusalInfo(
        400,
        "The response did not hold exactly one plain assertion (none, several, or an encrypted one).",
        "Turn off assertion encryption in the IdP; send one signed assertion.",
        "saml.response_validation:_the_assertion",
    ),
    Refusal.WRAPPED_SIGNATURE: RefusalInfo(
        400,
        "A signature sat where SAML never puts one, or covered another element (signature wrapping).",
        "Nothing to change: this was not a genuine IdP response.",
        _SHAPE,
    ),
    Refusal.UNSIGNED: RefusalInfo(
        400,
        "The assertion was not signed.",
        "Have the IdP sign the assertion (Entra: 'Sign SAML assertion' or 'Sign SAML response and assertion').",
        _SIGNATURE,
    ),
    Refusal.WEAK_ALGORITHM: RefusalInfo(
        400,
        "The signature used a refused algorithm (SHA-1, MD5 or HMAC).",
        "Set the IdP's signing algorithm to SHA-256.",
        "saml.crypto_backend:_check_algorithm",
    ),
    Refusal.UNSUPPORTED_ALGORITHM: RefusalInfo(
        400,
        "The signature used an algorithm or canonicalization this service does not accept.",
        "Use RSA-SHA256 (or stronger) with exclusive canonicalization, the IdP defaults.",
        "saml.crypto_backend:_check_algorithm",
    ),
    Refusal.SIGNATURE_INVALID: RefusalInfo(
        400,
        "The signature did not verify: the message was changed after signing, or is not a complete signature.",
        "If the IdP's certificate changed, import the new one; otherwise nothing to change.",
        _SIGNATURE,
    ),
    Refusal.UNKNOWN_CERTIFICATE: RefusalInfo(
        400,
        "The response was signed with a certificate the connection does not hold.",
        "Import the IdP's current signing certificate (or re-import its metadata).",
        _SIGNATURE,
    ),
    Refusal.WRONG_ISSUER: RefusalInfo(
        400,
        "The response came from an identity provider other than the connection's (the Issuer differs).",
        "Check the IdP entity ID in the connection (Entra: the 'Microsoft Entra Identifier').",
        "saml.response_validation:_check_issuers",
    ),
    Refusal.WRONG_DESTINATION: RefusalInfo(
        400,
        "The signed Response was addressed to another URL (Destination is not this ACS URL).",
        "Set the Reply URL (ACS) in the IdP to the connection's ACS URL exactly.",
        "saml.response_validation:_check_destination",
    ),
    Refusal.WRONG_AUDIENCE: RefusalInfo(
        400,
        "The assertion was meant for another service provider (its Audience is not this connection's entity ID).",
        "Set the Identifier (Entity ID) in the IdP to the connection's entity ID exactly.",
        "saml.response_validation:_check_conditions",
    ),
    Refusal.WRONG_RECIPIENT: RefusalInfo(
        400,
        "The assertion's bearer Recipient is not this ACS URL.",
        "Set the Reply URL (ACS) in the IdP to the connection's ACS URL exactly.",
        "saml.response_validation:_check_subject_confirmation",
    ),
    Refusal.EXPIRED: RefusalInfo(
        400,
        "The assertion had expired when it arrived (beyond the allowed clock skew).",
        "Check the IdP's clock; if the user waited long on the IdP's page, sign in again.",
        "saml.response_validation:_check_not_on_or_after",
    ),
    Refusal.NOT_YET_VALID: RefusalInfo(
        400,
        "The assertion was not valid yet when it arrived (its time is in the future beyond the clock skew).",
        "Check the IdP's clock.",
        "saml.response_validation:_check_not_before",
    ),
    Refusal.UNSOLICITED: RefusalInfo(
        400,
        "The response answered no sign-in request: IdP-initiated sign-in (from the IdP's app list) is refused.",
        "Users sign in from the application's sign-in page; hide the app tile or point it at that page.",
        "saml.response_validation:_check_in_response_to",
    ),
    Refusal.IN_RESPONSE_TO_MISMATCH: RefusalInfo(
        400,
        "The Response and its assertion answered different sign-in requests.",
        "Nothing to change: this was not a genuine IdP response.",
        "saml.response_validation:_check_in_response_to",
    ),
    Refusal.NOT_BEARER: RefusalInfo(
        400,
        "The assertion's subject confirmation is not of the bearer method browser sign-in needs.",
        "Use the IdP's standard SAML 2.0 web sign-in (bearer) profile.",
        "saml.response_validation:_check_subject_confirmation",
    ),
    Refusal.INVALID_ASSERTION: RefusalInfo(
        400,
        "The assertion broke a rule of the SAML web browser profile (subject confirmation, authentication "
        "statement or NameID).",
        "Use the IdP's standard SAML 2.0 web sign-in settings; the detail names the part.",
        _ENGINE,
    ),
    Refusal.NO_EMAIL: RefusalInfo(
        400,
        "The assertion carried no email address, in the NameID or in the usual email claims.",
        "Send the user's email as NameID (Entra: user.mail or user.userprincipalname) or as the email claim.",
        "saml.response_validation:_email",
    ),
    Refusal.LIBRARY_REJECTED: RefusalInfo(
        400,
        "pysaml2, the independent second check of every response, refused it.",
        "The detail names pysaml2's reason; compare the IdP's settings with the connection's.",
        "saml.response_validation:_second_opinion",
    ),
    Refusal.REPLAYED: RefusalInfo(
        _FORBIDDEN,
        "This assertion was already used once; each is good for one sign-in only.",
        "Nothing to change: the user signs in again from the application.",
        "dal.logins:LoginStateRepository.remember_assertion",
    ),
    Refusal.REQUEST_UNKNOWN: RefusalInfo(
        400,
        "The response answered a sign-in request this service never issued, already used, or forgot.",
        "The user signs in again from the application's sign-in page.",
        _REQUEST,
    ),
    Refusal.REQUEST_EXPIRED: RefusalInfo(
        400,
        "The sign-in request had expired (the user took over 10 minutes at the IdP).",
        "The user signs in again from the application's sign-in page.",
        _REQUEST,
    ),
    Refusal.REQUEST_OTHER_CONNECTION: RefusalInfo(
        400,
        "The response answered a sign-in request issued for another connection.",
        "Check that the IdP's Reply URL (ACS) is this connection's.",
        _REQUEST,
    ),
    Refusal.REQUEST_OTHER_BROWSER: RefusalInfo(
        400,
        "The response was posted from another browser than the one that started the sign-in.",
        "The user signs in again in one browser, from the application's sign-in page.",
        _REQUEST,
    ),
    Refusal.BROWSER_BINDING_MISSING: RefusalInfo(
        400,
        "The browser did not send the sign-in cookie this service set when the sign-in started.",
        "The user allows cookies for this site (third-party cookie blocking can drop it) and signs in again.",
        _SERVICE,
    ),
    Refusal.REQUEST_BEFORE_ENABLE: RefusalInfo(
        400,
        "The sign-in started before Enterprise SSO was last switched on for this connection.",
        "The user signs in again from the application's sign-in page.",
        _SERVICE,
    ),
    Refusal.DOMAIN_NOT_VERIFIED: RefusalInfo(
        _FORBIDDEN,
        "The email's domain is not a verified domain of this connection.",
        "Verify the domain (Connect domain, Check DNS) and add it to the connection, or fix the email the IdP sends.",
        _SERVICE,
    ),
    Refusal.USER_NOT_INVITED: RefusalInfo(
        _FORBIDDEN,
        "No active member of the organisation has this email (never invited, removed, or the invitation revoked).",
        "Invite the user (New User, Send invitation), or check the email the IdP sends.",
        _MEMBER,
    ),
    Refusal.INVITATION_NOT_ACCEPTED: RefusalInfo(
        _FORBIDDEN,
        "The user was invited but has not accepted the invitation yet.",
        "The user opens the invitation email and accepts it, then signs in again.",
        _MEMBER,
    ),
    Refusal.USER_DEACTIVATED: RefusalInfo(
        _FORBIDDEN,
        "The provisioning client (SCIM, e.g. Entra's provisioning) deactivated this user in the organisation.",
        "Reactivate or re-assign the user in the IdP and let provisioning run, if they should have access.",
        _MEMBER,
    ),
}


def describe(reason: str) -> RefusalInfo | None:
    """What ``reason`` means, or None for a code that is not a refusal (``success``)."""
    try:
        return REFUSALS[Refusal(reason)]
    except ValueError:
        return None


def page_status(reason: str) -> int:
    """The HTTP status of the failure page for ``reason``."""
    info = describe(reason)
    return info.status if info else 400


class LoginWarning(StrEnum):
    """Something a login that succeeded did that the administrator should still change (shown in the trace)."""

    SIGNED_BY_EXPIRED_CERTIFICATE = "signed_by_expired_certificate"


LOGIN_WARNINGS: dict[LoginWarning, str] = {
    LoginWarning.SIGNED_BY_EXPIRED_CERTIFICATE: (
        "The response was signed with an IdP certificate past its expiry date. It still verifies (the certificate "
        "only carries the IdP's key), but the IdP should sign with its new certificate: add that certificate to "
        "the connection and switch the IdP to it, then remove the expired one."
    ),
}
