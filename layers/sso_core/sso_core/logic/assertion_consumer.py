"""The ACS end to end: one SAML response in, a one-time code (or a refusal with a reason and a reference) out.

Order of checks: the connection is enabled; the response validates (signature, issuer, audience, recipient,
destination, times, one signed assertion); its assertion has not been used (single-use replay cache); its
InResponseTo names a request issued by this connection to this browser (cookie), not yet used; the asserted
email's domain is one of the connection's domains, verified by its tenant; the email belongs to an active
membership. Every outcome goes to the connection's login trace; the browser only ever sees a reference.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sso_core.clock import Clock, utcnow
from sso_core.config import ConfigurationError, Settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.domains import DomainRepository
from sso_core.dal.logins import (
    AGGREGATED_REASONS,
    AlreadyUsed,
    LoginStateRepository,
    RequestUnusable,
    StoredRequest,
    TraceEntry,
    aggregate_reference,
    individual_reference,
)
from sso_core.dal.table import Table
from sso_core.log_safe import SENTENCE_LIMIT, bounded
from sso_core.logic.login_start import BindingCookie, browser_hash, cookie_name, sp_identity
from sso_core.logic.memberships import MembershipRefused, member_for_sso_login, record_sso_login
from sso_core.logic.sso_configuration import idp_settings
from sso_core.logic.sso_gate import has_sso_access
from sso_core.models.connections import Connection, ConnectionStatus
from sso_core.models.domains import DomainStatus
from sso_core.models.login_outcomes import REFUSALS, Refusal
from sso_core.models.users import Membership
from sso_core.observability import logger, metrics
from sso_core.saml import AcsRejected, ValidatedLogin, validate_response

CODE_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True)
class AcsResult:
    outcome: str  # "success" | "failed" | "unsolicited"
    reference: str
    reason: str
    redirect_url: str | None = None
    clear_cookie: BindingCookie | None = None  # the used binding cookie, to expire


def new_reference() -> str:
    return individual_reference()


class AcsService:
    def __init__(self, settings: Settings, table: Table, clock: Clock = utcnow) -> None:
        if not settings.redirect_url:
            # No local-only fallback in a deployed stack: without it a successful login has nowhere to go.
            raise ConfigurationError("SSO_APP_REDIRECT_URL is not set: the ACS cannot hand codes to the application")
        self.settings = settings
        self.table = table
        self.clock = clock
        self.state = LoginStateRepository(table)
        self.connections = ConnectionRepository(table)

    def consume(self, connection_id: str, saml_response: str | None, cookies: Mapping[str, str]) -> AcsResult:
        reference = new_reference()
        logger.append_keys(
            login_reference=reference, connection_id=bounded(connection_id)
        )  # every later line of this login
        conn = self._connection(connection_id, reference)
        if conn is None:
            return AcsResult("failed", reference, Refusal.UNKNOWN_CONNECTION)
        try:
            login, membership, request = self._check(conn, saml_response, cookies)
        except _Refused as refusal:
            return self._refuse(conn, reference, refusal)
        code = secrets.token_urlsafe(32)
        now = self.clock()
        profile = self._profile(conn, login, membership, request.return_to)
        self.state.save_code(code, profile, now + CODE_LIFETIME, conn.enable_count)
        self.connections.record_success(conn.id, now)
        self._trace(conn, reference, "success", "success", "code issued", login.email_domain)
        metrics.add_metric(name="SsoLoginSucceeded", unit="Count", value=1)
        separator = "&" if "?" in self.settings.redirect_url else "?"
        clear = BindingCookie(cookie_name(request.request_id), "", self.settings.public_path(f"/saml/{conn.id}/acs"), 0)
        return AcsResult("success", reference, "success", f"{self.settings.redirect_url}{separator}code={code}", clear)

    def refuse_unread(self, connection_id: str, reason: str, detail: str) -> AcsResult:
        """A refusal the HTTP layer decides before the message is read (body size, form), traced like any other."""
        reference = new_reference()
        logger.append_keys(login_reference=reference, connection_id=bounded(connection_id))
        conn = self._connection(connection_id, reference)
        if conn is None:
            return AcsResult("failed", reference, Refusal.UNKNOWN_CONNECTION)
        return self._refuse(conn, reference, _Refused(reason, detail))

    def _connection(self, connection_id: str, reference: str) -> Connection | None:
        conn = self.connections.get(connection_id)
        if conn is None:
            logger.warning("ACS for an unknown connection", extra={"reference": reference})
        return conn

    # ---- checks -------------------------------------------------------------------------------------
    def _check(
        self, conn: Connection, saml_response: str | None, cookies: Mapping[str, str]
    ) -> tuple[ValidatedLogin, Membership, StoredRequest]:
        if conn.status is not ConnectionStatus.ENABLED:
            if not has_sso_access(self.table, conn.tenant_id):
                raise _Refused(Refusal.SSO_NOT_AVAILABLE)
            raise _Refused(Refusal.CONNECTION_DISABLED)
        idp = idp_settings(conn)
        if idp is None:
            raise _Refused(Refusal.IDP_INCOMPLETE)
        if not saml_response:
            raise _Refused(Refusal.MALFORMED, "no SAMLResponse in the form")
        now = self.clock()
        try:
            login = validate_response(
                saml_response,
                sp=sp_identity(self.settings, conn.id),
                idp=idp,
                now=now,
                skew_seconds=self.settings.clock_skew_seconds,
            )
        except AcsRejected as exc:
            raise _Refused(exc.reason, exc.detail) from None
        name = cookie_name(login.in_response_to)
        nonce = cookies.get(name, "")
        try:
            # The browser binding first, without using anything: a response posted from the wrong browser must
            # not burn the assertion the real user's browser is about to post.
            self.state.check_request(login.in_response_to, conn.id, browser_hash(nonce), now)
            skew = timedelta(seconds=self.settings.clock_skew_seconds)
            try:
                keep_until = login.assertion_not_on_or_after + skew
                self.state.remember_assertion(login.issuer, login.assertion_id, keep_until)
            except AlreadyUsed:
                raise _Refused(Refusal.REPLAYED, email_domain=login.email_domain) from None
            request = self.state.consume_request(login.in_response_to, conn.id, browser_hash(nonce), now)
        except RequestUnusable as exc:
            missing = not nonce and exc.reason is Refusal.REQUEST_OTHER_BROWSER
            reason = Refusal.BROWSER_BINDING_MISSING if missing else exc.reason
            raise _Refused(reason, email_domain=login.email_domain) from None
        if request.enable_count != conn.enable_count:
            raise _Refused(Refusal.REQUEST_BEFORE_ENABLE, email_domain=login.email_domain)
        if login.email_domain not in conn.domains or not self._verified(conn, login.email_domain):
            raise _Refused(Refusal.DOMAIN_NOT_VERIFIED, email_domain=login.email_domain)
        try:
            membership = member_for_sso_login(self.table, conn.tenant_id, login.email)
            record_sso_login(self.table, membership, now)
        except MembershipRefused as exc:
            raise _Refused(exc.reason, email_domain=login.email_domain) from None
        return login, membership, request

    def _verified(self, conn: Connection, domain: str) -> bool:
        claim = DomainRepository(self.table).get_claim(domain, conn.tenant_id)
        return claim is not None and claim.status is DomainStatus.VERIFIED

    def _profile(
        self, conn: Connection, login: ValidatedLogin, member: Membership, return_to: str
    ) -> dict[str, object]:
        return {
            "user": {
                "user_id": member.user_id,
                "email": member.email,
                "tenant_id": conn.tenant_id,
                "role": member.role,
                "accounts": list(member.accounts),
            },
            "connection_id": conn.id,
            # The same-origin path the login started from (``safe_return_path``), for the application to open.
            "return_to": return_to,
            "attributes": {
                "given_name": login.given_name,
                "surname": login.surname,
                "object_id": login.object_id,
                "name_id": login.name_id,
                "name_id_format": login.name_id_format,
                "session_index": login.session_index,
                "idp_entity_id": login.issuer,
                "authn_instant": login.authn_instant.isoformat() if login.authn_instant else None,
            },
        }

    # ---- refusals -------------------------------------------------------------------------------------
    def _refuse(self, conn: Connection, reference: str, refusal: _Refused) -> AcsResult:
        if refusal.reason in AGGREGATED_REASONS:  # junk: counted per hour and reason, not stored one by one
            now = self.clock()
            reference = aggregate_reference(refusal.reason, now)
            logger.append_keys(login_reference=reference)  # the reference the failure page shows
            entry = TraceEntry(now, reference, refusal.reason, refusal.reason, refusal.detail, refusal.email_domain)
            self.state.count_refusal(conn.id, entry)
        else:
            self._trace(conn, reference, refusal.reason, refusal.reason, refusal.detail, refusal.email_domain)
        logger.warning(
            "SSO login refused",
            extra={
                "tenant_id": conn.tenant_id,
                "connection_id": conn.id,
                "reference": reference,
                "reason": refusal.reason,
                "detail": refusal.detail,
            },
        )
        metrics.add_metric(name="SsoLoginRefused", unit="Count", value=1)
        outcome = "unsolicited" if refusal.reason is Refusal.UNSOLICITED else "failed"
        return AcsResult(outcome, reference, refusal.reason)

    def _trace(
        self, conn: Connection, reference: str, result: str, reason: str, detail: str, domain: str | None
    ) -> None:
        entry = TraceEntry(self.clock(), reference, result, reason, bounded(detail, SENTENCE_LIMIT), domain)
        self.state.record_trace(conn.id, entry)


class _Refused(Exception):
    """A refusal with its code; ``detail`` defaults to the code's sentence in the one vocabulary."""

    def __init__(self, reason: str, detail: str | None = None, email_domain: str | None = None) -> None:
        super().__init__(reason)
        self.reason = Refusal(reason)  # one vocabulary: an unnamed code fails here
        # Details quote the message: log-safe and short. Without one, the vocabulary's sentence.
        self.detail = bounded(detail or REFUSALS[self.reason].sentence, SENTENCE_LIMIT)
        self.email_domain = email_domain
