"""The ACS end to end: one SAML response in, a one-time code (or a refusal with a reason and a reference) out.

Order of checks: the connection is enabled; the response validates (signature, issuer, audience, recipient,
destination, times, one signed assertion); its assertion has not been used (single-use replay cache); its
InResponseTo names a request issued by this connection to this browser (cookie), not yet used; the asserted
email's domain is one of the connection's domains, verified by its tenant; the email belongs to an active
membership. Every outcome goes to the connection's login trace; the browser only ever sees a reference.

A connection test (``logic.connection_test``: a request stored with ``test_by``) goes through the same checks,
whatever the connection's status, except the ones about signing someone in to the application: no enable period,
no membership, no code. It records ``test_success_at`` and answers what the IdP sent; a refused test shows its
reason to the browser that started it (the test mark cookie names the request, the binding cookie proves the
browser). Test entries in the trace name the administrator who started them.
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
from sso_core.logic.connection_test import ConnectionTestReport, build_report
from sso_core.logic.login_start import TEST_MARK_COOKIE, BindingCookie, browser_hash, cookie_name, sp_identity
from sso_core.logic.memberships import MembershipRefused, member_for_sso_login, record_sso_login
from sso_core.logic.sso_configuration import idp_settings
from sso_core.logic.sso_gate import has_sso_access
from sso_core.models.connections import Connection, ConnectionStatus
from sso_core.models.domains import DomainStatus
from sso_core.models.idp_errors import IdpStatus
from sso_core.models.login_outcomes import REFUSALS, LoginWarning, Refusal
from sso_core.models.users import Membership
from sso_core.observability import logger, metrics
from sso_core.saml import AcsRejected, ValidatedLogin, validate_response

CODE_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True)
class AcsResult:
    outcome: str  # "success" | "failed" | "unsolicited" | "test_success" | "test_failed"
    reference: str
    reason: str
    redirect_url: str | None = None
    clear_cookie: BindingCookie | None = None  # the used binding cookie, to expire
    test_report: ConnectionTestReport | None = None  # test_success: what the IdP sent
    detail: str = ""  # test_failed: the refusal's detail (log-safe)
    idp_status: IdpStatus | None = None  # test_failed with status_not_success: the IdP's codes


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
        tester = self._tester(conn, cookies)
        try:
            login, membership, request = self._check(conn, saml_response, cookies, tester is not None)
        except _Refused as refusal:
            return self._refuse(conn, reference, refusal, tester)
        if request.test_by is not None or membership is None:
            return self._test_passed(conn, reference, login, request)
        code = secrets.token_urlsafe(32)
        now = self.clock()
        profile = self._profile(conn, login, membership, request.return_to)
        self.state.save_code(code, profile, now + CODE_LIFETIME, conn.enable_count)
        self.connections.record_success(conn.id, now)
        warnings: tuple[str, ...] = ()
        certificate = None
        if login.expired_signer is not None:  # still accepted (docs/decisions.md), never silently
            warnings = (LoginWarning.SIGNED_BY_EXPIRED_CERTIFICATE.value,)
            certificate = login.expired_signer.as_dict()
            metrics.add_metric(name="SsoLoginSignedByExpiredCertificate", unit="Count", value=1)
        self._trace(
            conn,
            reference,
            "success",
            "success",
            "code issued",
            login.email_domain,
            warnings=warnings,
            certificate=certificate,
        )
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

    def _tester(self, conn: Connection, cookies: Mapping[str, str]) -> dict[str, str] | None:
        """Who started the connection test this browser is in, if the test mark cookie names one of this
        connection's test requests started in this browser (its binding cookie); None otherwise."""
        request_id = cookies.get(TEST_MARK_COOKIE, "")
        if not request_id or len(request_id) > 200:
            return None
        nonce = cookies.get(cookie_name(request_id), "")
        if not nonce:
            return None
        return self.state.test_request(request_id, conn.id, browser_hash(nonce))

    def _test_passed(
        self, conn: Connection, reference: str, login: ValidatedLogin, request: StoredRequest
    ) -> AcsResult:
        """A test login that validated: recorded as proof that SSO works, no code, nobody signed in."""
        started_by = (request.test_by or {}).get("email", "")
        now = self.clock()
        self.connections.record_test_success(conn.id, now)
        detail = "connection test: the response validated; no code issued"
        warnings: tuple[str, ...] = ()
        certificate = None
        if login.expired_signer is not None:  # the test says so too: the IdP's certificate needs replacing
            warnings = (LoginWarning.SIGNED_BY_EXPIRED_CERTIFICATE.value,)
            certificate = login.expired_signer.as_dict()
        self._trace(
            conn,
            reference,
            "success",
            "success",
            detail,
            login.email_domain,
            started_by,
            warnings=warnings,
            certificate=certificate,
        )
        metrics.add_metric(name="SsoConnectionTestSucceeded", unit="Count", value=1)
        report = build_report(
            login.issuer,
            login.name_id,
            login.name_id_format,
            login.email,
            login.attributes,
            login.certificate_der,
            started_by,
        )
        clear = BindingCookie(cookie_name(request.request_id), "", self.settings.public_path(f"/saml/{conn.id}/acs"), 0)
        return AcsResult("test_success", reference, "success", None, clear, report)

    def _connection(self, connection_id: str, reference: str) -> Connection | None:
        conn = self.connections.get(connection_id)
        if conn is None:
            logger.warning("ACS for an unknown connection", extra={"reference": reference})
        return conn

    # ---- checks -------------------------------------------------------------------------------------
    def _check(
        self, conn: Connection, saml_response: str | None, cookies: Mapping[str, str], testing: bool = False
    ) -> tuple[ValidatedLogin, Membership | None, StoredRequest]:
        """The login, its member and its request; for a connection test (``request.test_by``) no member.

        ``testing``: the browser holds a test of this connection, so a connection that is not enabled is no
        refusal yet: the request the response answers decides (only a test request may pass)."""
        if testing and not has_sso_access(self.table, conn.tenant_id):
            raise _Refused(Refusal.SSO_NOT_AVAILABLE)
        if conn.status is not ConnectionStatus.ENABLED and not testing:
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
            shown = exc.certificate.as_dict() if exc.certificate is not None else None
            raise _Refused(exc.reason, exc.detail, idp_status=exc.idp_status, certificate=shown) from None
        name = cookie_name(login.in_response_to)
        nonce = cookies.get(name, "")
        try:
            # The browser binding first, without using anything: a response posted from the wrong browser must
            # not burn the assertion the real user's browser is about to post.
            is_test = self.state.check_request(login.in_response_to, conn.id, browser_hash(nonce), now)
            if not is_test and conn.status is not ConnectionStatus.ENABLED:
                raise _Refused(Refusal.CONNECTION_DISABLED, email_domain=login.email_domain)
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
        if request.test_by is None and request.enable_count != conn.enable_count:
            raise _Refused(Refusal.REQUEST_BEFORE_ENABLE, email_domain=login.email_domain)
        if login.email_domain not in conn.domains or not self._verified(conn, login.email_domain):
            raise _Refused(Refusal.DOMAIN_NOT_VERIFIED, email_domain=login.email_domain)
        if request.test_by is not None:
            return login, None, request  # a test signs nobody in: no member needed
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
    def _refuse(
        self, conn: Connection, reference: str, refusal: _Refused, tester: dict[str, str] | None = None
    ) -> AcsResult:
        # A test is traced one by one even for junk reasons: only an administrator's browser can be in one.
        if refusal.reason in AGGREGATED_REASONS and tester is None:  # junk: counted per hour and reason
            now = self.clock()
            reference = aggregate_reference(refusal.reason, now)
            logger.append_keys(login_reference=reference)  # the reference the failure page shows
            entry = TraceEntry(
                now,
                reference,
                refusal.reason,
                refusal.reason,
                refusal.detail,
                refusal.email_domain,
                idp_status=refusal.idp_status,
                certificate=refusal.certificate,
            )
            self.state.count_refusal(conn.id, entry)
        else:
            started_by = tester.get("email") if tester else None
            self._trace(
                conn,
                reference,
                refusal.reason,
                refusal.reason,
                refusal.detail,
                refusal.email_domain,
                started_by,
                refusal.idp_status,
                certificate=refusal.certificate,
            )
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
        if tester is not None:
            return AcsResult(
                "test_failed",
                reference,
                refusal.reason,
                detail=refusal.detail,
                idp_status=refusal.idp_status,
            )
        outcome = "unsolicited" if refusal.reason is Refusal.UNSOLICITED else "failed"
        return AcsResult(outcome, reference, refusal.reason)

    def _trace(
        self,
        conn: Connection,
        reference: str,
        result: str,
        reason: str,
        detail: str,
        domain: str | None,
        test_by: str | None = None,
        idp_status: IdpStatus | None = None,
        warnings: tuple[str, ...] = (),
        certificate: dict[str, str] | None = None,
    ) -> None:
        entry = TraceEntry(
            self.clock(),
            reference,
            result,
            reason,
            bounded(detail, SENTENCE_LIMIT),
            domain,
            test_by,
            idp_status,
            warnings,
            certificate,
        )
        self.state.record_trace(conn.id, entry)


class _Refused(Exception):
    """A refusal with its code; ``detail`` defaults to the code's sentence in the one vocabulary."""

    def __init__(
        self,
        reason: str,
        detail: str | None = None,
        email_domain: str | None = None,
        idp_status: IdpStatus | None = None,
        certificate: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.idp_status = idp_status
        self.certificate = certificate  # for display only (unknown_certificate: what the IdP signed with)
        self.reason = Refusal(reason)  # one vocabulary: an unnamed code fails here
        # Details quote the message: log-safe and short. Without one, the vocabulary's sentence.
        self.detail = bounded(detail or REFUSALS[self.reason].sentence, SENTENCE_LIMIT)
        self.email_domain = email_domain
