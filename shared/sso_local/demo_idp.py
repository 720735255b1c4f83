"""The local stack's demo IdP, at ``/_local/idp``: a real SAML IdP (pysaml2's IdP side, through
``sso_local.saml_idp.RealIdp``) with a sign-in form and users from a small file.

It behaves as Microsoft Entra ID does towards this service:

- its metadata (``GET /_local/idp/metadata``) imports into a connection in one call;
- it takes the AuthnRequest over HTTP-POST or HTTP-Redirect, finds the SP by the request's Issuer (the SP
  entity ID ``{public}/saml/{id}/metadata``), reads that SP's metadata from the stack, verifies the request's
  signature with the certificate published there, and refuses an unsigned request when the SP metadata says
  ``AuthnRequestsSigned="true"``;
- it answers only to an AssertionConsumerServiceURL the SP metadata lists;
- its response has the assertion signed (RSA-SHA256), NameID emailAddress and Entra's claim URIs.

The signature checks here are written against the xmlsec binding and ``cryptography`` directly, not with the
service's own verifier, so a mistake in the service's signing cannot hide behind the same mistake here.

Pending requests live in memory, keyed by a random id that the sign-in form carries. The key pair is generated
into the stack's state folder on first start: no private key is committed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import json
import re
import secrets
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus, urlsplit

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from sso_core.saml import safe_xml
from sso_core.saml.certificates import CertificateUnreadable, generate_sp_keypair, pem_of
from sso_core.saml.xml_names import BINDING_HTTP_POST, DIGEST_SHA256, NS_DS, NS_MD, NS_SAML, NS_SAMLP, SIG_RSA_SHA256

from .gateway import GatewayResponse
from .saml_idp import IdpKeys, RealIdp, b64, entra_claims

PREFIX = "/_local/idp"
USERS_FILE = "fixtures/demo_users.json"
REQUEST_LIFETIME_SECONDS = 600
CLOCK_SKEW_SECONDS = 180
MAX_PENDING = 1000
MAX_MESSAGE_BYTES = 64 * 1024
MAX_RELAY_STATE_BYTES = 80

AUTO_POST_SCRIPT = 'document.getElementById("saml-response").submit();'
AUTO_POST_SCRIPT_HASH = "sha256-" + base64.b64encode(sha256(AUTO_POST_SCRIPT.encode()).digest()).decode()
FORM_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

_STYLE = (
    "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#eef1f5;color:#1b1f24}"
    "main{max-width:26rem;margin:10vh auto;background:#fff;border-radius:10px;padding:2rem 2.5rem;"
    "box-shadow:0 2px 14px rgba(0,0,0,.1)}h1{font-size:1.5rem;margin:.2rem 0 .4rem}"
    ".brand{color:#0b5cad;font-weight:600;margin:0}.muted{color:#5a6270;font-size:.9rem;line-height:1.4}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;margin-top:.3rem;"
    "border:1px solid #b8c0cc;border-radius:6px;font-size:1rem}"
    "button{margin-top:1.4rem;padding:.65rem 1.4rem;border:0;border-radius:6px;background:#0b5cad;color:#fff;"
    "font-size:1rem;cursor:pointer}.error{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:6px}"
    "code{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}"
)


# ---- users and keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    given_name: str
    surname: str
    object_id: str


def load_users(path: Path | None = None) -> dict[str, DemoUser]:
    """The demo users by lower-case email (``fixtures/demo_users.json`` unless ``path`` names another file)."""
    text = path.read_text("utf-8") if path else files("sso_local").joinpath(USERS_FILE).read_text("utf-8")
    users = {}
    for entry in json.loads(text)["users"]:
        user = DemoUser(
            email=str(entry["email"]).strip().lower(),
            password=str(entry["password"]),
            given_name=str(entry.get("given_name") or ""),
            surname=str(entry.get("surname") or ""),
            object_id=str(entry.get("object_id") or ""),
        )
        users[user.email] = user
    return users


def load_or_create_keys(folder: Path) -> IdpKeys:
    """The demo IdP's signing key and certificate, made on first use and kept in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "signing-key.pem", folder / "signing-cert.pem"
    if not (key_path.exists() and cert_path.exists()):
        key_pem, cert_pem = generate_sp_keypair("sso-local demo IdP", datetime.now(UTC))
        key_path.write_text(key_pem, "ascii")
        key_path.chmod(0o600)
        cert_path.write_text(cert_pem, "ascii")
    return IdpKeys(key_path.read_text("ascii"), cert_path.read_text("ascii"))


# ---- what the demo IdP knows about an SP and a request ----------------------------------------------


class Refused(Exception):
    """The demo IdP will not answer this request. ``message`` is shown on its error page."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ServiceProvider:
    entity_id: str
    connection_id: str
    acs_urls: tuple[str, ...]
    certificates: tuple[str, ...]  # PEM, from the SP metadata's signing KeyDescriptors
    authn_requests_signed: bool
    metadata_xml: str


@dataclass(frozen=True)
class PendingRequest:
    key: str
    request_id: str
    sp: ServiceProvider
    acs_url: str
    relay_state: str
    binding: str
    expires: float


def read_sp_metadata(xml: str, expected_entity_id: str, connection_id: str) -> ServiceProvider:
    try:
        root = safe_xml.parse(xml)
    except safe_xml.UnsafeXml as exc:
        raise Refused("sp_metadata_unreadable", f"The SP metadata could not be read: {exc.detail}") from None
    if root.tag != f"{{{NS_MD}}}EntityDescriptor" or root.get("entityID") != expected_entity_id:
        raise Refused("sp_metadata_mismatch", "The SP metadata does not describe the request's Issuer.")
    descriptor = root.find(f"{{{NS_MD}}}SPSSODescriptor")
    if descriptor is None:
        raise Refused("sp_metadata_unreadable", "The SP metadata has no SPSSODescriptor.")
    certificates = []
    for key_descriptor in descriptor.iterfind(f"{{{NS_MD}}}KeyDescriptor"):
        if key_descriptor.get("use") not in (None, "signing"):
            continue
        for node in key_descriptor.iterfind(f".//{{{NS_DS}}}X509Certificate"):
            try:
                certificates.append(pem_of(x509.load_der_x509_certificate(base64.b64decode(node.text or ""))))
            except (ValueError, binascii.Error, CertificateUnreadable):
                continue
    acs_urls = tuple(
        str(acs.get("Location"))
        for acs in descriptor.iterfind(f"{{{NS_MD}}}AssertionConsumerService")
        if acs.get("Binding") == BINDING_HTTP_POST and acs.get("Location")
    )
    if not acs_urls:
        raise Refused("sp_metadata_unreadable", "The SP metadata names no AssertionConsumerService for HTTP-POST.")
    return ServiceProvider(
        entity_id=expected_entity_id,
        connection_id=connection_id,
        acs_urls=acs_urls,
        certificates=tuple(certificates),
        authn_requests_signed=descriptor.get("AuthnRequestsSigned") in ("true", "1"),
        metadata_xml=xml,
    )


def verify_post_signature(root: etree._Element, certificates: tuple[str, ...]) -> None:
    """The AuthnRequest's enveloped signature, verified with the xmlsec binding and one of the SP's certificates."""
    signature = root.find(f"{{{NS_DS}}}Signature")
    if signature is None:
        raise Refused("unsigned", "The AuthnRequest is not signed.", 403)
    request_id = root.get("ID") or ""
    if len(root.xpath("//*[@ID=$id]", id=request_id)) != 1:
        raise Refused("signature_invalid", "The AuthnRequest's ID is not unique.", 403)
    signed_info = signature.find(f"{{{NS_DS}}}SignedInfo")
    method = signed_info.find(f"{{{NS_DS}}}SignatureMethod") if signed_info is not None else None
    references = signed_info.findall(f"{{{NS_DS}}}Reference") if signed_info is not None else []
    if method is None or method.get("Algorithm") != SIG_RSA_SHA256:
        raise Refused("weak_algorithm", "The AuthnRequest must be signed with RSA-SHA256.", 403)
    if len(references) != 1 or references[0].get("URI") != f"#{request_id}":
        raise Refused("signature_invalid", "The signature does not cover the AuthnRequest.", 403)
    digest = references[0].find(f"{{{NS_DS}}}DigestMethod")
    if digest is None or digest.get("Algorithm") != DIGEST_SHA256:
        raise Refused("weak_algorithm", "The AuthnRequest's signature must use a SHA-256 digest.", 403)
    for pem in certificates:
        context = xmlsec.SignatureContext()
        context.key = xmlsec.Key.from_memory(pem.encode(), xmlsec.constants.KeyDataFormatCertPem)
        context.register_id(root, "ID")
        try:
            context.verify(signature)
        except xmlsec.Error:
            continue
        return
    raise Refused("signature_invalid", "The AuthnRequest's signature does not verify with the SP's certificate.", 403)


def _raw_query_values(query: str) -> dict[str, str]:
    """Query parameters as sent (still URL-encoded): the Redirect binding's signature covers those bytes."""
    values: dict[str, str] = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        values.setdefault(name, value)
    return values


def verify_redirect_signature(query: str, certificates: tuple[str, ...]) -> None:
    """The Redirect binding's signature over ``SAMLRequest=..&RelayState=..&SigAlg=..``, with ``cryptography``."""
    raw = _raw_query_values(query)
    if unquote_plus(raw.get("SigAlg", "")) != SIG_RSA_SHA256:
        raise Refused("weak_algorithm", "The AuthnRequest must be signed with RSA-SHA256.", 403)
    signed = f"SAMLRequest={raw['SAMLRequest']}"
    if "RelayState" in raw:
        signed += f"&RelayState={raw['RelayState']}"
    signed += f"&SigAlg={raw['SigAlg']}"
    try:
        signature = base64.b64decode(unquote_plus(raw.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise Refused("signature_invalid", "The AuthnRequest's signature is not base64.", 403) from None
    for pem in certificates:
        public_key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            continue
        try:
            public_key.verify(signature, signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return
    raise Refused("signature_invalid", "The AuthnRequest's signature does not verify with the SP's certificate.", 403)


def _decode_request(value: str, binding: str) -> str:
    if len(value) > MAX_MESSAGE_BYTES:
        raise Refused("too_large", "The SAMLRequest is too large.")
    try:
        data = base64.b64decode(re.sub(r"\s+", "", value), validate=True)
        if binding == "redirect":
            inflater = zlib.decompressobj(-15)
            data = inflater.decompress(data, MAX_MESSAGE_BYTES)
            if inflater.unconsumed_tail:
                raise Refused("too_large", "The SAMLRequest is too large.")
    except (binascii.Error, ValueError, zlib.error):
        raise Refused(
            "malformed", "The SAMLRequest is not valid base64 (or DEFLATE, for the Redirect binding)."
        ) from None
    try:
        return safe_xml.decode_text(data)
    except safe_xml.UnsafeXml as exc:
        raise Refused("malformed", exc.detail) from None


def _instant(text: str | None) -> float:
    try:
        instant = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise Refused("malformed", "The AuthnRequest has no valid IssueInstant.") from None
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).timestamp()


# ---- the IdP ------------------------------------------------------------------------------------------


class DemoIdp:
    def __init__(
        self,
        state_dir: Path,
        base_url: str,
        fetch_sp_metadata: Callable[[str], GatewayResponse],
        users: Mapping[str, DemoUser] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.entity_id = self.base_url + PREFIX
        self.sso_url = f"{self.base_url}{PREFIX}/sso"
        self.metadata_url = f"{self.base_url}{PREFIX}/metadata"
        self.keys = load_or_create_keys(state_dir)
        self.users = dict(users) if users is not None else load_users()
        self.clock = clock
        self._fetch_sp_metadata = fetch_sp_metadata
        self._issuer_pattern = re.compile(re.escape(self.base_url) + r"/saml/([A-Za-z0-9_-]{1,64})/metadata")
        self._lock = threading.Lock()  # pysaml2's Server is not made for concurrent use
        self._pending: OrderedDict[str, PendingRequest] = OrderedDict()
        self._idps: OrderedDict[str, RealIdp] = OrderedDict()
        self._metadata = RealIdp(self.entity_id, self.sso_url, self.keys).metadata_xml()

    def metadata_xml(self) -> str:
        return self._metadata

    # ---- HTTP ----------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> GatewayResponse:
        if path in (PREFIX, f"{PREFIX}/metadata") and method in ("GET", "HEAD"):
            return GatewayResponse(
                200,
                [("content-type", "application/samlmetadata+xml; charset=utf-8"), ("cache-control", "no-store")],
                self._metadata.encode("utf-8"),
            )
        if path == f"{PREFIX}/sso" and method in ("GET", "POST"):
            if method == "POST":
                form = _form(body)
                saml_request, relay_state, binding = form.get("SAMLRequest", ""), form.get("RelayState", ""), "post"
            else:
                params = parse_qs(query, keep_blank_values=True, max_num_fields=10)
                saml_request = (params.get("SAMLRequest") or [""])[0]
                relay_state, binding = (params.get("RelayState") or [""])[0], "redirect"
            try:
                pending = self.receive(saml_request, relay_state, binding, query)
            except Refused as refusal:
                return _page(refusal.status, _error_html(refusal.message), FORM_CSP)
            return _page(200, self._sign_in_html(pending), FORM_CSP)
        if path == f"{PREFIX}/login" and method == "POST":
            return self.login(_form(body))
        return GatewayResponse(
            404,
            [("content-type", "application/json")],
            b'{"error": {"code": "route_not_found", "message": "No such demo IdP route."}}',
        )

    # ---- the AuthnRequest ----------------------------------------------------------------------------
    def receive(self, saml_request: str, relay_state: str, binding: str, query: str = "") -> PendingRequest:
        """Check an AuthnRequest completely and keep it pending until the user signs in."""
        if not saml_request:
            raise Refused("malformed", "No SAMLRequest was sent. Start the sign-in from the application.")
        if len(relay_state.encode()) > MAX_RELAY_STATE_BYTES:
            raise Refused("malformed", "The RelayState is longer than 80 bytes.")
        text = _decode_request(saml_request, binding)
        try:
            root = safe_xml.parse(text)
        except safe_xml.UnsafeXml as exc:
            raise Refused(exc.reason, exc.detail) from None
        if root.tag != f"{{{NS_SAMLP}}}AuthnRequest" or not root.get("ID"):
            raise Refused("malformed", "The SAMLRequest is not an AuthnRequest with an ID.")
        issuer = (root.findtext(f"{{{NS_SAML}}}Issuer") or "").strip()
        sp = self._service_provider(issuer)
        if binding == "post":
            if root.find(f"{{{NS_DS}}}Signature") is not None:
                verify_post_signature(root, sp.certificates)
            elif sp.authn_requests_signed:
                raise Refused("unsigned", "The AuthnRequest is not signed, and the SP's metadata says it signs.", 403)
        elif "Signature" in _raw_query_values(query):
            verify_redirect_signature(query, sp.certificates)
        elif sp.authn_requests_signed:
            raise Refused("unsigned", "The AuthnRequest is not signed, and the SP's metadata says it signs.", 403)
        destination = root.get("Destination")
        if destination is not None and destination != self.sso_url:
            raise Refused("wrong_destination", f"The AuthnRequest is addressed to {destination}, not to this IdP.")
        now = self.clock()
        issued = _instant(root.get("IssueInstant"))
        if not now - REQUEST_LIFETIME_SECONDS <= issued <= now + CLOCK_SKEW_SECONDS:
            raise Refused("expired", "The AuthnRequest is too old (or from the future). Start the sign-in again.")
        protocol_binding = root.get("ProtocolBinding")
        if protocol_binding is not None and protocol_binding != BINDING_HTTP_POST:
            raise Refused("unsupported_binding", "The demo IdP answers over HTTP-POST only.")
        acs_url = root.get("AssertionConsumerServiceURL") or sp.acs_urls[0]
        if acs_url not in sp.acs_urls:
            raise Refused("wrong_acs", "The AssertionConsumerServiceURL is not one the SP's metadata lists.")
        pending = PendingRequest(
            key=secrets.token_urlsafe(24),
            request_id=str(root.get("ID")),
            sp=sp,
            acs_url=acs_url,
            relay_state=relay_state,
            binding=binding,
            expires=now + REQUEST_LIFETIME_SECONDS,
        )
        with self._lock:
            self._forget_expired(now)
            self._pending[pending.key] = pending
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
        return pending

    def _service_provider(self, issuer: str) -> ServiceProvider:
        match = self._issuer_pattern.fullmatch(issuer)
        if not match:
            raise Refused("unknown_sp", f"The Issuer {issuer or '(none)'} is not a connection of this local stack.")
        connection_id = match.group(1)
        resp = self._fetch_sp_metadata(connection_id)
        if resp.status != 200:
            raise Refused("unknown_sp", f"The stack has no SP metadata for {issuer}.")
        return read_sp_metadata(resp.text, issuer, connection_id)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, p in self._pending.items() if p.expires < now]:
            del self._pending[key]

    # ---- sign-in ------------------------------------------------------------------------------------
    def login(self, form: Mapping[str, str]) -> GatewayResponse:
        now = self.clock()
        key = form.get("request", "")
        with self._lock:
            self._forget_expired(now)
            pending = self._pending.get(key)
        if pending is None:
            message = "This sign-in request is unknown, expired or already used. Start again from the application."
            return _page(400, _error_html(message), FORM_CSP)
        email = form.get("email", "").strip().lower()
        user = self.users.get(email)
        if user is None or not hmac.compare_digest(user.password.encode(), form.get("password", "").encode()):
            return _page(401, self._sign_in_html(pending, email, "Wrong email or password."), FORM_CSP)
        with self._lock:
            if self._pending.pop(key, None) is None:  # a second tab won the race
                return _page(400, _error_html("This sign-in request was already used."), FORM_CSP)
            xml = self._idp_for(pending.sp).response_xml(
                sp_entity_id=pending.sp.entity_id,
                acs_url=pending.acs_url,
                in_response_to=pending.request_id,
                name_id=user.email,
                claims=entra_claims(user.email, user.given_name, user.surname, user.object_id or secrets.token_hex(16)),
            )
        fields = {"SAMLResponse": b64(xml)}
        if pending.relay_state:
            fields["RelayState"] = pending.relay_state
        return _page(200, _auto_post_html(pending.acs_url, fields, user.email), _auto_post_csp(pending.acs_url))

    def _idp_for(self, sp: ServiceProvider) -> RealIdp:
        """pysaml2's IdP for one SP (it answers only SPs whose metadata it holds). Call with the lock held."""
        cache_key = sha256(sp.metadata_xml.encode()).hexdigest()
        idp = self._idps.get(cache_key)
        if idp is None:
            idp = RealIdp(self.entity_id, self.sso_url, self.keys, sp.metadata_xml)
            self._idps[cache_key] = idp
            while len(self._idps) > 32:
                self._idps.popitem(last=False)
        return idp

    def _sign_in_html(self, pending: PendingRequest, email: str = "", error: str | None = None) -> str:
        e = html.escape
        problem = f"<p class='error' role='alert'>{e(error)}</p>" if error else ""
        return _html(
            "Sign in - Demo IdP",
            "<p class='brand'>Demo IdP &middot; sso-local</p><h1>Sign in</h1>"
            f"<p class='muted'>to <code>{e(pending.sp.entity_id)}</code></p>{problem}"
            "<form method='post' action='login'>"
            f"<input type='hidden' name='request' value='{e(pending.key, quote=True)}'>"
            "<label for='email'>Email</label>"
            f"<input id='email' name='email' type='email' autocomplete='username' required value='{e(email)}'>"
            "<label for='password'>Password</label>"
            "<input id='password' name='password' type='password' autocomplete='current-password' required>"
            "<button type='submit'>Sign in</button></form>"
            "<p class='muted'>A local demonstration identity provider. Its users are listed in "
            "<code>shared/sso_local/fixtures/demo_users.json</code>.</p>",
        )


# ---- pages ----------------------------------------------------------------------------------------------


def _form(body: bytes) -> dict[str, str]:
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=10)
    return {name: values[0] for name, values in parsed.items()}


def _html(title: str, main: str, script: str = "") -> str:
    tail = f"<script>{script}</script>" if script else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{main}</main>{tail}</body></html>"
    )


def _error_html(message: str) -> str:
    return _html(
        "Sign-in refused - Demo IdP",
        "<p class='brand'>Demo IdP &middot; sso-local</p><h1>Sign-in request refused</h1>"
        f"<p class='error' role='alert'>{html.escape(message)}</p>"
        "<p class='muted'>Go back to the application and start the sign-in again.</p>",
    )


def _auto_post_html(acs_url: str, fields: Mapping[str, str], email: str) -> str:
    e = html.escape
    inputs = "".join(
        f"<input type='hidden' name='{e(name, quote=True)}' value='{e(value, quote=True)}'>"
        for name, value in fields.items()
    )
    return _html(
        "Signing in - Demo IdP",
        "<p class='brand'>Demo IdP &middot; sso-local</p><h1>Returning to the application</h1>"
        f"<form id='saml-response' method='post' action='{e(acs_url, quote=True)}'>{inputs}"
        f"<p class='muted'>Signed in as {e(email)}.</p><button type='submit'>Continue</button></form>",
        AUTO_POST_SCRIPT,
    )


def _auto_post_csp(acs_url: str) -> str:
    # form-action also governs the redirects that follow the POST (the ACS sends the browser on to the
    # application, which may live elsewhere): name schemes, as the service's own auto-post page does.
    form_action = "https:" if urlsplit(acs_url).scheme == "https" else "http: https:"
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src '{AUTO_POST_SCRIPT_HASH}'; "
        f"form-action {form_action}; base-uri 'none'; frame-ancestors 'none'"
    )


def _page(status: int, page: str, csp: str) -> GatewayResponse:
    return GatewayResponse(
        status,
        [
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
            ("content-security-policy", csp),
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
        ],
        page.encode("utf-8"),
    )


__all__ = ["PREFIX", "DemoIdp", "DemoUser", "Refused", "load_or_create_keys", "load_users"]
