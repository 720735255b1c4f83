"""The SP side of a login start: our metadata and the AuthnRequest, built by pysaml2.

AuthnRequests are signed in process: the HTTP-POST binding embeds an enveloped XML signature
(RSA-SHA256, exclusive C14N) made by ``InProcessBackend``; the HTTP-Redirect binding signs
the query string ``SAMLRequest=..&RelayState=..&SigAlg=..`` with RSA-SHA256.
"""

from __future__ import annotations

import html
import secrets
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from saml2.metadata import do_key_descriptor, entity_descriptor
from saml2.pack import http_redirect_message

from sso_core.saml.certificates import base64_body, generate_sp_keypair
from sso_core.saml.pysaml2_config import Binding, IdpSettings, SpIdentity, sp_client
from sso_core.saml.xml_names import BINDING_HTTP_POST, DIGEST_SHA256, NS_DS, NS_MD, SIG_RSA_SHA256

__all__ = [
    "AuthnStart",
    "IdpSettings",
    "SpIdentity",
    "build_authn_request",
    "generate_sp_keypair",
    "sp_metadata_xml",
]

MAX_RELAY_STATE_BYTES = 80  # SAML bindings 3.4.3 and 3.5.3

# The auto-submit script is constant, so the page's CSP can name it by hash: no nonce to
# thread through, no inline handler, no 'unsafe-inline'.
AUTO_SUBMIT_SCRIPT = 'document.getElementById("saml-request").submit();'
AUTO_SUBMIT_SCRIPT_HASH = "sha256-" + b64encode(sha256(AUTO_SUBMIT_SCRIPT.encode("utf-8")).digest()).decode()

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signing in</title>
</head>
<body>
<form id="saml-request" method="post" action="{action}">
{inputs}
<p>Continuing to your organisation's sign-in page.</p>
<button type="submit">Continue</button>
</form>
<script>{script}</script>
</body>
</html>
"""


@dataclass(frozen=True)
class AuthnStart:
    """What the login start hands the browser. Store ``request_id`` and bind it to the browser."""

    request_id: str
    binding: Binding
    issue_instant: datetime
    # HTTP-POST: the form's target (the IdP SSO URL). HTTP-Redirect: the full Location.
    url: str
    # HTTP-POST: {"SAMLRequest": ..., "RelayState": ...}; empty for HTTP-Redirect.
    form_fields: Mapping[str, str] = field(default_factory=dict, hash=False)
    # HTTP-POST: the auto-submitting page and the Content-Security-Policy header to send with it.
    html: str | None = None
    content_security_policy: str | None = None


def _instant(now: datetime) -> str:
    moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_request_id() -> str:
    return "_" + secrets.token_hex(20)  # 160 bits; an xs:ID must not start with a digit


@lru_cache(maxsize=64)
def sp_metadata_xml(sp: SpIdentity) -> str:
    """SP metadata: AuthnRequestsSigned and WantAssertionsSigned, our signing certificate (and during a rotation
    the next one, or after the switch the previous one, each its own KeyDescriptor), the ACS on HTTP-POST,
    NameIDFormat emailAddress."""
    client = sp_client(sp)
    descriptor = entity_descriptor(client.config)
    certificates = [base64_body(sp.cert_pem)]
    for extra in (sp.next_cert_pem, sp.previous_cert_pem):
        if extra:
            certificates.append(base64_body(extra))
    descriptor.spsso_descriptor.key_descriptor = do_key_descriptor(certificates, use="signing")
    descriptor.spsso_descriptor.authn_requests_signed = "true"
    descriptor.spsso_descriptor.want_assertions_signed = "true"
    xml = descriptor.to_string(nspair={"md": NS_MD, "ds": NS_DS}).decode("utf-8")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml


def build_authn_request(sp: SpIdentity, idp: IdpSettings, relay_state: str, now: datetime) -> AuthnStart:
    """An AuthnRequest to the connection's IdP, for its binding, signed when it wants that."""
    if len(relay_state.encode("utf-8")) > MAX_RELAY_STATE_BYTES:
        raise ValueError(f"RelayState must not exceed {MAX_RELAY_STATE_BYTES} bytes")
    client = sp_client(sp, idp)
    issue_instant = _instant(now)
    embed_signature = idp.signed_requests and idp.binding == "post"
    request_id, request = client.create_authn_request(
        idp.sso_url,
        binding=BINDING_HTTP_POST,  # the binding of the *response*: always POST to our ACS
        message_id=_new_request_id(),
        sign=embed_signature,
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
        issue_instant=issue_instant,
    )
    xml = request if isinstance(request, str) else str(request)
    issued = datetime.strptime(issue_instant, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if idp.binding == "redirect":
        info = http_redirect_message(
            message=xml,
            location=idp.sso_url,
            relay_state=relay_state,
            typ="SAMLRequest",
            sigalg=SIG_RSA_SHA256,
            sign=idp.signed_requests,
            backend=_RedirectSigning(sp.key_pem),
        )
        location = dict(info["headers"])["Location"]
        return AuthnStart(request_id=request_id, binding="redirect", issue_instant=issued, url=location)
    fields = {"SAMLRequest": b64encode(xml.encode("utf-8")).decode("ascii")}
    if relay_state:
        fields["RelayState"] = relay_state
    return AuthnStart(
        request_id=request_id,
        binding="post",
        issue_instant=issued,
        url=idp.sso_url,
        form_fields=fields,
        html=auto_post_page(idp.sso_url, fields),
        content_security_policy=auto_post_csp(idp.sso_url),
    )


def auto_post_page(action: str, fields: Mapping[str, str]) -> str:
    inputs = "\n".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return _PAGE.format(action=html.escape(action), inputs=inputs, script=AUTO_SUBMIT_SCRIPT)


def auto_post_csp(action: str) -> str:
    # form-action names schemes, not one origin: IdPs may redirect the POST within their
    # own hosts, and browsers apply form-action to those redirects too.
    target = urlsplit(action)
    form_action = "https:" if target.scheme == "https" else f"{target.scheme}://{target.netloc}"
    return (
        f"default-src 'none'; script-src '{AUTO_SUBMIT_SCRIPT_HASH}'; form-action {form_action}; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


class _RedirectSigning:
    """pysaml2's ``backend`` for the HTTP-Redirect binding, one per call.

    pysaml2's own ``RSACrypto`` writes the key into a module-level signer shared by every
    client; this gives each call its own, so concurrent connections cannot mix keys.
    """

    def __init__(self, key_pem: str) -> None:
        self._key = _rsa_private_key(key_pem)

    def get_signer(self, sigalg: str, sigkey: Any = None) -> _RsaSha256Signer | None:
        return _RsaSha256Signer(self._key) if sigalg == SIG_RSA_SHA256 else None


@lru_cache(maxsize=16)
def _rsa_private_key(key_pem: str) -> rsa.RSAPrivateKey:
    # Loading checks the RSA key, which costs about 150 ms for 3072 bits: once per key, not per login.
    key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("The SP signing key must be RSA.")
    return key


class _RsaSha256Signer:
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key

    def sign(self, msg: bytes, key: Any = None) -> bytes:
        return self._key.sign(msg, padding.PKCS1v15(), hashes.SHA256())
