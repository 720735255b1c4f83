"""One tenant with SSO working end to end, through the public API only, for the HTTP-level SSO tests.

The owner verifies a domain in a real DNS server, creates a connection, imports a real pysaml2 IdP from its
metadata, enables the connection and invites a user who accepts by the link in the mail (outbox). Then
``login()`` walks a browser's part: start (AuthnRequest + binding cookie), IdP response, ACS, code.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from lxml import etree

from sso_core.saml.certificates import generate_sp_keypair
from sso_local.dns_server import LocalDnsServer
from sso_local.gateway import GatewayResponse
from sso_local.saml_idp import IdpKeys, RealIdp
from tests.support.api import Api

CLIENT_SECRET = "test-client-secret-0123456789abcdef"
BREAK_GLASS = "boss@acme.example"  # an owner whose email is outside acme.test: may sign in with a password
_INPUT = re.compile(r'<input[^>]*name="(?P<name>[^"]+)"[^>]*value="(?P<value>[^"]*)"', re.I)
_SET_COOKIE = re.compile(r"^(?P<name>[^=;\s]+)=(?P<value>[^;]*)")


def idp_keys(common_name: str) -> IdpKeys:
    from datetime import UTC, datetime

    key_pem, cert_pem = generate_sp_keypair(common_name, datetime.now(UTC))
    return IdpKeys(key_pem, cert_pem)


@dataclass
class LoginStart:
    response: GatewayResponse
    request_id: str
    relay_state: str
    cookies: dict[str, str]
    saml_request_xml: bytes


@dataclass
class SsoWorld:
    api: Api
    dns: LocalDnsServer
    outbox: Path
    tenant: str = "acme"
    domain: str = "acme.test"
    idp_entity_id: str = "https://sts.windows.net/acme-tenant-id/"
    idp_sso_url: str = "https://login.microsoftonline.example/acme/saml2"
    keys: IdpKeys = field(default_factory=lambda: idp_keys("acme-idp"))
    connection_id: str = ""
    sp: dict[str, str] = field(default_factory=dict)
    idp: RealIdp | None = None
    access: bool = True  # support has granted the tenant access to SSO (done when the world is made)

    def __post_init__(self) -> None:
        if self.access:
            grant_sso_access(self.tenant)

    # ---- setup --------------------------------------------------------------------------------------
    def owner(self, method: str, path: str, body: Any = None, **kwargs: Any) -> GatewayResponse:
        return self.api.call(method, path, body, tenant=self.tenant, role="owner", **kwargs)

    def verify_domain(self, domain: str | None = None) -> None:
        domain = domain or self.domain
        record = self.owner("POST", "/domains", {"domain": domain}).json()["verification"]
        self.dns.store.add(record["record_name"], "TXT", record["record_value"])
        assert self.owner("POST", f"/domains/{domain}/verify").json()["status"] == "verified"

    def support(self, action: str, **command: Any) -> dict[str, Any]:
        """Support's operator function, invoked directly (as ``aws lambda invoke`` would; it has no route)."""
        return support_access(action, self.tenant, **command)

    def create_connection(self, domains: list[str] | None = None) -> None:
        resp = self.owner("POST", "/connections", {"domains": domains or [self.domain]})
        assert resp.status == 201, resp.text
        body = resp.json()
        self.connection_id = body["id"]
        self.sp = body["sp"]

    def sp_metadata(self) -> str:
        resp = self.api.call("GET", f"/saml/{self.connection_id}/metadata")
        assert resp.status == 200, resp.text
        return resp.text

    def make_idp(self) -> RealIdp:
        self.idp = RealIdp(self.idp_entity_id, self.idp_sso_url, self.keys, self.sp_metadata())
        return self.idp

    def import_idp(self) -> GatewayResponse:
        idp = self.idp or self.make_idp()
        return self.owner("PUT", f"/connections/{self.connection_id}/idp", {"metadata_xml": idp.metadata_xml()})

    def enable(self) -> GatewayResponse:
        return self.owner("PUT", f"/connections/{self.connection_id}/status", {"enabled": True})

    def invite_and_accept(self, email: str, role: str = "member", accounts: list[str] | None = None) -> dict[str, Any]:
        token = self.api.authority.issue(self.tenant, f"owner@{self.tenant}.example", "owner", ["acct-1", "acct-2"])
        resp = self.api.call(
            "POST", "/invitations", {"email": email, "role": role, "accounts": accounts or ["acct-1"]}, token=token
        )
        assert resp.status == 201, resp.text
        link_token = self.mail_token(email)
        accepted = self.api.call("POST", "/invitations/accept", {"token": link_token})
        assert accepted.status == 200, accepted.text
        return accepted.json()

    def invite_only(self, email: str) -> None:
        token = self.api.authority.issue(self.tenant, f"owner@{self.tenant}.example", "owner", ["acct-1"])
        resp = self.api.call(
            "POST", "/invitations", {"email": email, "role": "member", "accounts": ["acct-1"]}, token=token
        )
        assert resp.status == 201, resp.text

    def mail_token(self, email: str) -> str:
        for path in sorted(self.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            msg = message_from_bytes(path.read_bytes())
            if email.lower() in str(msg["To"]).lower():
                text = _plain_text(msg)
                match = re.search(r"[?&]token=([A-Za-z0-9_\-%]+)", text)
                assert match, "no accept link in the mail"
                from urllib.parse import unquote

                return unquote(match.group(1))
        raise AssertionError(f"no mail to {email} in {self.outbox}")

    def setup(self, user: str = "alice@acme.test") -> SsoWorld:
        self.verify_domain()
        self.create_connection()
        assert self.import_idp().status == 200
        assert self.enable().status == 200
        self.invite_and_accept(user)
        return self

    # ---- the browser's part -------------------------------------------------------------------------
    def start(self, email: str | None = "alice@acme.test", return_to: str | None = None) -> LoginStart:
        query = {}
        if email:
            query["email"] = email
        if return_to is not None:
            query["return_to"] = return_to
        return self.started_from(self.api.call("GET", f"/saml/{self.connection_id}/login", query=urlencode(query)))

    def started_from(self, resp: GatewayResponse) -> LoginStart:
        """The browser's view of a login start's answer: the AuthnRequest, its RelayState, the cookies set."""
        assert resp.status in (200, 302), resp.text
        cookies = {}
        for header in resp.header_all("set-cookie"):
            m = _SET_COOKIE.match(header)
            if m:
                cookies[m.group("name")] = m.group("value")
        if resp.status == 302:
            params = parse_qs(urlsplit(resp.header("location") or "").query)
            xml = zlib.decompress(base64.b64decode(params["SAMLRequest"][0]), -15)
            relay = params.get("RelayState", [""])[0]
        else:
            fields = {m.group("name"): unescape(m.group("value")) for m in _INPUT.finditer(resp.text)}
            xml = base64.b64decode(fields["SAMLRequest"])
            relay = fields.get("RelayState", "")
        request_id = etree.fromstring(xml).get("ID")
        return LoginStart(resp, str(request_id), relay, cookies, xml)

    def response_xml(
        self, in_response_to: str | None, email: str = "alice@acme.test", idp: RealIdp | None = None, **kwargs: Any
    ) -> str:
        """A genuinely signed response from the IdP (this world's unless told otherwise) to this world's SP."""
        issuer = idp or self.idp
        assert issuer is not None
        return issuer.response_xml(
            sp_entity_id=self.sp["entity_id"],
            acs_url=self.sp["acs_url"],
            in_response_to=in_response_to,
            name_id=email,
            **kwargs,
        )

    def response_b64(
        self, in_response_to: str | None, email: str = "alice@acme.test", idp: RealIdp | None = None, **kwargs: Any
    ) -> str:
        xml = self.response_xml(in_response_to, email, idp, **kwargs)
        return base64.b64encode(xml.encode()).decode()

    def post_acs(
        self,
        saml_response: str,
        cookies: dict[str, str] | None = None,
        relay_state: str = "",
        connection_id: str | None = None,
    ) -> GatewayResponse:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = urlencode({"SAMLResponse": saml_response, "RelayState": relay_state})
        return self.api.call("POST", f"/saml/{connection_id or self.connection_id}/acs", raw_body=body, headers=headers)

    def redeem(self, code: str, secret: str = CLIENT_SECRET) -> GatewayResponse:
        return self.api.call("POST", "/sso/token", {"code": code}, headers={"authorization": f"Bearer {secret}"})

    def login(self, email: str = "alice@acme.test", **kwargs: Any) -> GatewayResponse:
        started = self.start(email)
        return self.post_acs(
            self.response_b64(started.request_id, email, **kwargs), started.cookies, started.relay_state
        )

    def trace(self) -> list[dict[str, Any]]:
        resp = self.owner("GET", f"/connections/{self.connection_id}/logins")
        assert resp.status == 200, resp.text
        return list(resp.json()["logins"])


def support_access(action: str, tenant: str, **command: Any) -> dict[str, Any]:
    """Invokes support's operator function with one command; returns its answer."""
    from sso_local.lambda_runtime import invoke
    from sso_local.template import functions

    event = {"action": action, "tenant_id": tenant, "operator": "support@vendor.example", **command}
    return dict(invoke(functions()["SupportAccessFunction"], event))


def grant_sso_access(tenant: str, plan: str = "contract") -> None:
    """The one place tests grant a tenant access to SSO (through the real operator function)."""
    answer = support_access("grant", tenant, plan=plan)
    assert answer["status"] == 200 and answer["access"]["access"] == "granted", answer


def code_of(resp: GatewayResponse) -> str:
    assert resp.status == 302, resp.text
    location = resp.header("location") or ""
    return parse_qs(urlsplit(location).query)["code"][0]


def reference_of(resp: GatewayResponse) -> str:
    match = re.search(r"SSO-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", resp.text)
    assert match, resp.text[:500]
    return match.group(0)


def _plain_text(msg: Message) -> str:
    if msg.is_multipart():
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                return payload.decode() if isinstance(payload, bytes) else str(payload)
    payload = msg.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(payload)


__all__ = ["CLIENT_SECRET", "SsoWorld", "code_of", "grant_sso_access", "quote", "reference_of", "support_access"]
