"""Public login: discovery (which way an email signs in) and the SP-initiated start (the AuthnRequest)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.logins import LoginStateRepository, StoredRequest
from sso_core.dal.table import Table
from sso_core.gateways.sp_keys import load_sp_keys
from sso_core.logic.login_policy import Decision, decide
from sso_core.logic.login_routing import route_for_domain
from sso_core.logic.sso_configuration import idp_settings, sp_details
from sso_core.models.connections import Connection, ConnectionStatus
from sso_core.models.domain_names import email_domain
from sso_core.models.errors import DomainError, InvalidDomain, InvalidRequest, NotFound
from sso_core.saml import AuthnStart, IdpSettings, SpIdentity, build_authn_request

REQUEST_LIFETIME = timedelta(minutes=10)
COOKIE_PREFIX = "sso_rq_"


class SsoUnavailable(NotFound):
    code = "sso_unavailable"
    default_message = "Single sign-on is not available for this connection."


class EmailNotCovered(DomainError):
    status = 400
    code = "email_not_covered"
    default_message = "This email address does not belong to a domain of this connection."


@dataclass(frozen=True)
class Discovery:
    decision: Decision
    redirect_url: str | None


def discover(settings: Settings, table: Table, email: str) -> Discovery:
    """Same answer shape whoever asks; only the domain's configuration decides, never the user."""
    try:
        domain = email_domain(email)
    except InvalidDomain:
        return Discovery(decide(False, None, True), None)
    conn, claim = route_for_domain(table, domain)
    decision = decide(
        domain_verified=claim is not None,
        connection=conn.status if conn is not None else None,
        password_login=claim.password_login if claim is not None else True,
    )
    redirect = None
    if decision.method == "sso" and conn is not None:
        redirect = f"{sp_details(settings, conn.id).sign_in_url}?email={quote(email.strip())}"
    return Discovery(decision, redirect)


def sp_identity(settings: Settings, connection_id: str) -> SpIdentity:
    details = sp_details(settings, connection_id)
    host = urlsplit(settings.public_url).hostname or "sso"
    keys = load_sp_keys(settings.sp_key_secret_id, common_name=host)
    return SpIdentity(
        entity_id=details.entity_id,
        acs_url=details.acs_url,
        sign_in_url=details.sign_in_url,
        key_pem=keys.key_pem,
        cert_pem=keys.cert_pem,
        next_cert_pem=keys.next_cert_pem,
        previous_cert_pem=keys.previous_cert_pem,
    )


def safe_return_path(raw: str | None) -> str:
    """A same-origin path, or '/'. Never a URL: '//evil.example' and 'https://evil.example' go nowhere."""
    if not raw or len(raw) > 512 or not raw.startswith("/") or raw.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x21 or c == "\\" for c in raw):
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return "/"
    return raw


def cookie_name(request_id: str) -> str:
    return COOKIE_PREFIX + hashlib.sha256(request_id.encode()).hexdigest()[:16]


def browser_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


@dataclass(frozen=True)
class BindingCookie:
    """Binds a request to the browser; sent Secure, HttpOnly, SameSite=None (the IdP POSTs cross-site)."""

    name: str
    value: str
    path: str
    max_age: int


@dataclass(frozen=True)
class LoginStart:
    authn: AuthnStart
    cookie: BindingCookie
    # A connection test only: names the request to the ACS, so a refused test can show its reason to the browser
    # that started it (the binding cookie above still proves it is that browser).
    test_mark: BindingCookie | None = None


TEST_MARK_COOKIE = "sso_test"


def start_login_at(
    settings: Settings, table: Table, connection_id: str, email: str | None, return_to: str | None
) -> LoginStart:
    """``start_login`` for the connection named in the URL (an unknown id is as unavailable as a disabled one)."""
    return start_login(settings, table, ConnectionRepository(table).get(connection_id), email, return_to)


def start_login(
    settings: Settings,
    table: Table,
    conn: Connection | None,
    email: str | None,
    return_to: str | None,
    clock: Clock = utcnow,
) -> LoginStart:
    if conn is None or conn.status is not ConnectionStatus.ENABLED:
        raise SsoUnavailable()
    idp = idp_settings(conn)
    if idp is None:
        raise SsoUnavailable()
    if email:
        try:
            domain = email_domain(email)
        except InvalidDomain:
            raise InvalidRequest("That is not a valid email address.") from None
        if domain not in conn.domains:
            raise EmailNotCovered()
    return begin_login(settings, table, conn, idp, safe_return_path(return_to), clock())


def begin_login(
    settings: Settings,
    table: Table,
    conn: Connection,
    idp: IdpSettings,
    return_to: str,
    now: datetime,
    test_by: dict[str, str] | None = None,
) -> LoginStart:
    """The AuthnRequest and its stored, browser-bound state; ``test_by`` makes it a connection test."""
    nonce = secrets.token_urlsafe(32)
    relay_state = secrets.token_urlsafe(16)
    authn = build_authn_request(sp_identity(settings, conn.id), idp, relay_state, now)
    expires = now + REQUEST_LIFETIME
    LoginStateRepository(table).save_request(
        StoredRequest(
            request_id=authn.request_id,
            connection_id=conn.id,
            browser_hash=browser_hash(nonce),
            return_to=return_to,
            created_at=now,
            expires_at=expires,
            enable_count=conn.enable_count,
            test_by=test_by,
        )
    )
    path = settings.public_path(f"/saml/{conn.id}/acs")
    lifetime = int(REQUEST_LIFETIME.total_seconds())
    cookie = BindingCookie(cookie_name(authn.request_id), nonce, path, lifetime)
    mark = BindingCookie(TEST_MARK_COOKIE, authn.request_id, path, lifetime) if test_by else None
    return LoginStart(authn=authn, cookie=cookie, test_mark=mark)
