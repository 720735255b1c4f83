"""The admin console: server-rendered pages under /console/, signed in with OpenID Connect (backend-for-frontend).

Every page calls the same logic as the JSON API with the session's Caller; the role a page needs is the role its API
route needs (owner: domains, SSO, security, audit; admin: users). A refusal is shown on the page that caused it.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.clock import Clock, utcnow
from sso_core.config import get_settings
from sso_core.dal.console_sessions import ConsoleSession, ConsoleSessionStore
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.edge import console as ui
from sso_core.edge.http import caller_from_claims, create_resolver
from sso_core.gateways.mail import mailer_for
from sso_core.gateways.oidc import SignInFailed
from sso_core.logic.audit_trail import read_audit
from sso_core.logic.connection_test import start_connection_test
from sso_core.logic.console_sessions import ConsoleSessions, caller_of, csrf_ok
from sso_core.logic.domain_verification import DomainService
from sso_core.logic.idp_certificates import IdpCertificates
from sso_core.logic.invitations import InvitationService
from sso_core.logic.kill_switches import KillSwitchService
from sso_core.logic.login_trace import read_trace
from sso_core.logic.provisioning import ProvisioningAdmin
from sso_core.logic.sso_configuration import ConnectionService
from sso_core.logic.users import UserService
from sso_core.models.connections import AddCertificateRequest, IdpFieldsRequest, UpdateConnectionRequest
from sso_core.models.domains import DomainOut
from sso_core.models.errors import DomainError, InvalidRequest
from sso_core.models.identity import Caller
from sso_core.models.idp_errors import ENTRA_ERRORS, SAML_STATUSES
from sso_core.models.invitations import CreateInvitationRequest
from sso_core.models.login_outcomes import REFUSALS, Refusal
from sso_core.models.provisioning import GroupMapping, ProvisioningSettings
from sso_core.models.sso_access import SsoNotAvailable
from sso_core.models.users import RoleEscalation, UpdateUserRequest
from sso_core.observability import logger, metrics, tracer

app = create_resolver()
FORM_LIMIT = 600 * 1024


@cache
def table() -> Table:
    return Table(get_settings().table_name)


clock: Clock = utcnow  # the session clock (tests move it)


def sessions() -> ConsoleSessions:
    return ConsoleSessions(get_settings(), ConsoleSessionStore(table()), lambda: clock())


def domains() -> DomainService:
    return DomainService(get_settings(), DomainRepository(table()))


def connections() -> ConnectionService:
    return ConnectionService(get_settings(), table())


# ---- words -------------------------------------------------------------------------------------------------


def when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:  # a stored text that is not a time: shown as it is, never a failed page
            return value
    return value.strftime("%Y-%m-%d %H:%M UTC")


def badge_label(d: DomainOut) -> str:
    return "Record missing" if d.record_missing_since and d.status == "verified" else d.status_label


def badge_class(d: DomainOut) -> str:
    return "warning" if d.record_missing_since and d.status == "verified" else str(d.status)


CHECK_WORDS = {
    "verified": "Last check {at}: the TXT record was found with the expected value.",
    "not_found": "Last check {at}: the name {name} exists but has no TXT record with our value. Expected: {expected}.",
    "mismatch": "Last check {at}: found {found}, but expected {expected}. Correct the value at your DNS provider.",
    "nxdomain": "Last check {at}: the name {name} does not exist in DNS yet. Add the TXT record; "
    "DNS changes can take a few minutes to appear.",
    "indeterminate": "Last check {at}: your DNS servers did not answer, so we could not tell. We will try again.",
}


def check_words(d: DomainOut) -> str:
    check = d.last_check
    if check is None:
        return "Not checked yet."
    template = CHECK_WORDS.get(check.result, "Last check {at}: " + check.result.replace("_", " ") + ".")
    found = ", ".join(f'"{v}"' for v in check.found) or "nothing"
    return template.format(
        at=when(check.checked_at), name=d.verification.record_name, expected=f'"{check.expected}"', found=found
    )


def check_source(d: DomainOut) -> str:
    """Who answered the last check: the domain's own name server, or our resolver (and why)."""
    check = d.last_check
    if check is None:
        return ""
    if check.source == "authoritative":
        return f"Answered by your domain's name server at {check.server}."
    why = check.source_note.removeprefix("resolver fallback: ")
    return "Answered by our DNS resolver" + (
        f": your domain's name servers could not be asked ({why})." if why else "."
    )


ui.env.globals.update(
    when=when, badge_label=badge_label, badge_class=badge_class, check_words=check_words, check_source=check_source
)
STATUS_WORDS = {"draft": "Not enabled yet", "enabled": "Enterprise SSO on", "disabled": "Enterprise SSO off"}


# ---- session, roles and forms ------------------------------------------------------------------------------


class _Signed:
    def __init__(self, session_id: str, session: ConsoleSession) -> None:
        self.id = session_id
        self.session = session
        self.caller: Caller = caller_of(session)
        self.csrf = session.csrf_token


def signed_in() -> _Signed | Response:
    session_id = ui.read_cookie(app.current_event.get("cookies"))
    session = sessions().current(session_id)
    if session is None or session_id is None:
        path = app.current_event.path
        target = f"/console/login?next={quote(path)}" if app.current_event.http_method == "GET" else "/console/login"
        return ui.redirect(target, cookies=[ui.cleared_session_cookie()] if session_id else None)
    return _Signed(session_id, session)


def page(signed: _Signed, template: str, status: int = 200, **context: Any) -> Response:
    return ui.html(status, ui.render(template, signed.caller, signed.csrf, **context))


def ask_admin(signed: _Signed, role: str) -> Response:
    return page(
        signed,
        "message.html",
        403,
        title="Ask your administrator",
        message=f"This page needs the {role} role; you are signed in as {signed.caller.role}. "
        "Ask an owner or administrator of your organisation to make this change, or to give you the role.",
    )


def form() -> dict[str, str]:
    body = app.current_event.decoded_body or ""
    if len(body) > FORM_LIMIT:
        raise InvalidRequest("The form is too large.")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def multipart() -> dict[str, bytes | str]:
    """Fields and uploaded files of a multipart/form-data body (files as bytes)."""
    raw = app.current_event.body or ""
    body = base64.b64decode(raw) if app.current_event.is_base64_encoded else raw.encode("utf-8")
    if len(body) > FORM_LIMIT:
        raise InvalidRequest("The upload is too large (600 KB at most).")
    content_type = app.current_event.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return dict(form())
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, bytes | str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        fields[name] = payload if part.get_filename() is not None else payload.decode("utf-8", "replace")
    return fields


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc)


def guarded(role: str, handler: Callable[[_Signed], Response], data: dict[str, Any] | None = None) -> Response:
    """Signed in, role at least ``role``, and (for a POST) the session's CSRF token in the form."""
    signed = signed_in()
    if isinstance(signed, Response):
        return signed
    if app.current_event.http_method == "POST":
        submitted = (data if data is not None else form()).get("csrf")
        if not csrf_ok(signed.session, submitted if isinstance(submitted, str) else None):
            return page(
                signed,
                "message.html",
                403,
                title="This form has expired",
                message="The form did not carry this session's security token, so nothing was changed. "
                "Reload the page and try again.",
                link="/console/",
                link_label="Back to the console",
            )
    if not signed.caller.at_least(role):
        return ask_admin(signed, role)
    try:
        return handler(signed)
    except SsoNotAvailable:  # an SSO page of a tenant without the entitlement: the explanation, never an error
        return sso_not_available(signed)


# ---- sign-in -----------------------------------------------------------------------------------------------


@app.get("/console/login")
def login() -> Response:
    query = app.current_event.query_string_parameters or {}
    try:
        url, browser = sessions().start_sign_in(query.get("next"), query.get("login_hint"))
    except SignInFailed as exc:
        logger.warning("console sign-in could not start", extra={"why": str(exc)})
        body = ui.render(
            "message.html",
            title="Sign-in unavailable",
            message="The sign-in service did not answer. Try again in a few minutes.",
            link="/console/login",
            link_label="Try again",
        )
        return ui.html(503, body)
    return ui.redirect(url, cookies=[ui.sign_in_cookie(browser)])


@app.get("/console/callback")
def callback() -> Response:
    query = app.current_event.query_string_parameters or {}
    if query.get("error") or not query.get("code") or not query.get("state"):
        return _sign_in_failed("The sign-in was cancelled or refused by your identity service.")
    try:
        browser = ui.read_cookie(app.current_event.get("cookies"), ui.SIGN_IN_COOKIE)
        done = sessions().finish_sign_in(query["state"], query["code"], browser)
    except SignInFailed as exc:
        logger.warning("console sign-in failed", extra={"why": str(exc)})
        return _sign_in_failed("Your identity service's answer could not be verified.")
    if done is None:
        return _sign_in_failed(
            "This sign-in was already used, is too old, or was started in another browser. Sign in again."
        )
    claims, next_path = done
    try:
        caller = caller_from_claims(claims, get_settings())
    except DomainError as exc:
        return _sign_in_failed(exc.message)
    session_id = sessions().open(caller)
    max_age = get_settings().console_absolute_hours * 3600
    logger.info("console session opened", extra={"tenant_id": caller.tenant_id, "role": caller.role})
    if next_path == "/console/":
        next_path = home_of(caller)
    cookies = [ui.session_cookie(session_id, max_age), ui.sign_in_cookie("", 0)]
    return ui.redirect(next_path, cookies=cookies)


def _sign_in_failed(message: str) -> Response:
    body = ui.render(
        "message.html", title="Sign-in failed", message=message, link="/console/login", link_label="Sign in"
    )
    return ui.html(400, body)


@app.post("/console/logout")
def logout() -> Response:
    session_id = ui.read_cookie(app.current_event.get("cookies"))
    session = sessions().current(session_id)
    if session is not None and not csrf_ok(session, form().get("csrf")):
        return ui.html(403, ui.render("message.html", title="This form has expired", message="Reload and try again."))
    sessions().end(session_id)
    body = ui.render(
        "message.html", title="Signed out", message="You are signed out.", link="/console/login", link_label="Sign in"
    )
    return ui.html(200, body, cookies=[ui.cleared_session_cookie()])


def home_of(caller: Caller) -> str:
    if caller.at_least("owner"):
        return "/console/domains"
    if caller.at_least("admin"):
        return "/console/users"
    return "/console/readonly"


@app.get("/console/")
def home() -> Response:
    signed = signed_in()
    return signed if isinstance(signed, Response) else ui.redirect(home_of(signed.caller))


@app.get("/console/readonly")
def readonly() -> Response:
    def show(s: _Signed) -> Response:
        return page(
            s,
            "message.html",
            title="Ask your administrator",
            message="You are signed in as a member. Members cannot change the organisation's sign-in settings: "
            "ask an owner or administrator of your organisation.",
        )

    return guarded("member", show)


@app.get("/console/static/<name>")
def static(name: str) -> Response:
    found = ui.static_file(name)
    if found is None:
        raise NotFoundError()
    return found


# ---- domains -----------------------------------------------------------------------------------------------


def domains_page(s: _Signed, status: int = 200, **extra: Any) -> Response:
    listed = domains().list(s.caller).domains
    return page(s, "domains.html", status, title="Domains", active="domains", domains=listed, **extra)


# Notices a redirect may ask the Domains page for: fixed words chosen by key, never text from the query.
DOMAINS_NOTICES = {
    "connection-deleted": "The SSO connection was deleted. Its domains sign in with username and password again; "
    "choose “Manage” on a domain to set up a new connection.",
}


@app.get("/console/domains")
def domains_get() -> Response:
    query = app.current_event.query_string_parameters or {}
    notice = DOMAINS_NOTICES.get(query.get("notice") or "")
    return guarded("owner", lambda s: domains_page(s, notice=notice) if notice else domains_page(s))


@app.post("/console/domains")
def domains_connect() -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        typed = data.get("domain", "")
        try:
            _, out = domains().add(s.caller, typed)
        except DomainError as exc:
            return domains_page(s, exc.status, error=exc.message, typed_domain=typed)
        return ui.redirect(f"/console/domains#domain-{out.domain}")

    return guarded("owner", act, data)


@app.post("/console/domains/<domain>/check")
def domains_check(domain: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        try:
            result = domains().verify_now(s.caller, domain)
        except DomainError as exc:
            return domains_page(s, exc.status, error=exc.message)
        return domains_page(s, notice=f"{result.domain}: {result.status_label}.")

    return guarded("owner", act, data)


@app.post("/console/domains/<domain>/manage")
def domains_manage(domain: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        try:
            name = domains().get(s.caller, domain).domain
            found = [c for c in connections().list(s.caller).connections if name in c.domains]
            conn_id = found[0].id if found else connections().create(s.caller, [name]).id
        except SsoNotAvailable:
            return sso_not_available(s)
        except DomainError as exc:
            return domains_page(s, exc.status, error=exc.message)
        return ui.redirect(f"/console/connections/{conn_id}")

    return guarded("owner", act, data)


# ---- SSO configuration -------------------------------------------------------------------------------------


def sso_not_available(s: _Signed) -> Response:
    """What a tenant without the Enterprise SSO entitlement sees on an SSO page: an explanation, not an error."""
    return page(s, "sso_unavailable.html", SsoNotAvailable.status, title="Enterprise SSO is not part of your plan")


def connection_page(s: _Signed, connection_id: str, status: int = 200, **extra: Any) -> Response:
    try:
        conn = connections().get(s.caller, connection_id)
    except SsoNotAvailable:
        return sso_not_available(s)
    except DomainError as exc:
        return page(
            s,
            "message.html",
            exc.status,
            title="Not found",
            message=exc.message,
            link="/console/domains",
            link_label="Back to Domains",
        )
    sp_values = [
        ("entity", "Entity ID", conn.sp.entity_id),
        ("acs", "Reply URL (ACS)", conn.sp.acs_url),
        ("signin", "Sign-in URL", conn.sp.sign_in_url),
    ]
    if "warnings" in extra:
        conn = conn.model_copy(update={"warnings": extra.pop("warnings")})
    return page(
        s,
        "connection.html",
        status,
        title="SSO configuration",
        active="domains",
        conn=conn,
        sp_values=sp_values,
        status_words=STATUS_WORDS,
        **extra,
    )


@app.get("/console/connections/<connection_id>")
def connection_get(connection_id: str) -> Response:
    return guarded("owner", lambda s: connection_page(s, connection_id))


def _text(value: bytes | str | None) -> str:
    """A form field or an uploaded file as text (an uploaded file is read as UTF-8)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


@app.post("/console/connections/<connection_id>/idp")
def connection_idp(connection_id: str) -> Response:
    """Import the IdP one of three ways: the metadata file, the metadata URL (refreshed daily), or the fields."""
    data = multipart()

    def act(s: _Signed) -> Response:
        metadata = _text(data.get("metadata")).strip()
        metadata_url = _text(data.get("metadata_url")).strip()
        uploaded = data.get("certificate")
        certificate = _pem_or_base64(uploaded) if isinstance(uploaded, bytes) else ""
        fields_given = bool(_text(data.get("entity_id")).strip() or _text(data.get("sso_url")).strip()) or bool(
            certificate.strip()
        )
        try:
            if sum((bool(metadata), bool(metadata_url), fields_given)) > 1:
                raise InvalidRequest(
                    "Use one way at a time: the metadata file, the metadata URL, or the entity ID, sign-in URL "
                    "and certificate."
                )
            if metadata:
                request = IdpFieldsRequest(metadata_xml=metadata)
            elif metadata_url:
                request = IdpFieldsRequest(metadata_url=metadata_url)
            elif fields_given:
                request = IdpFieldsRequest(
                    entity_id=_text(data.get("entity_id")).strip() or None,
                    sso_url=_text(data.get("sso_url")).strip() or None,
                    certificates=[certificate] if certificate.strip() else None,
                )
            else:
                raise InvalidRequest(
                    "Choose the metadata file, enter the metadata URL, or enter the entity ID, sign-in URL and "
                    "certificate."
                )
            _, _, out = connections().set_idp(s.caller, connection_id, request)
        except DomainError as exc:
            fetch_refused = exc.code.startswith("metadata_url_")
            words = f"The metadata URL was not imported: {exc.message}" if fetch_refused else exc.message
            return connection_page(s, connection_id, exc.status, error=words, typed_metadata_url=metadata_url)
        except ValueError as exc:  # pydantic: a field too long or empty
            return connection_page(s, connection_id, 400, error=f"The values were not accepted: {_first_error(exc)}.")
        done = "The identity provider was imported"
        done += "; its metadata is read again every day." if metadata_url else "."
        return connection_page(s, connection_id, notice=done, warnings=out.warnings)

    return guarded("owner", act, data)


@app.post("/console/connections/<connection_id>/certificates")
def connection_certificate_add(connection_id: str) -> Response:
    """Certificate rollover, step one: add the IdP's next certificate (PEM or CER file) beside the current one."""
    data = multipart()

    def act(s: _Signed) -> Response:
        uploaded = data.get("new_certificate")
        try:
            if not isinstance(uploaded, bytes) or not uploaded.strip():
                raise InvalidRequest("Choose the IdP's new certificate file (PEM or CER).")
            text = _pem_or_base64(uploaded)
            out = IdpCertificates(connections()).add(s.caller, connection_id, AddCertificateRequest(certificate=text))
        except DomainError as exc:
            return connection_page(s, connection_id, exc.status, error=exc.message)
        except ValueError as exc:
            return connection_page(s, connection_id, 400, error=f"The file was not accepted: {_first_error(exc)}.")
        return connection_page(
            s,
            connection_id,
            notice="The certificate was added. Remove the old one once the IdP signs with the new one.",
            warnings=out.warnings,
        )

    return guarded("owner", act, data)


def _pem_or_base64(uploaded: bytes) -> str:
    """A PEM file as its text; a binary (DER) .cer file as base64, which the API's certificate field accepts."""
    if b"-----BEGIN" in uploaded:
        return uploaded.decode("utf-8", "replace").lstrip("\ufeff")
    try:
        return uploaded.decode("ascii")  # a base64 .cer without the PEM lines
    except UnicodeDecodeError:
        return base64.b64encode(uploaded).decode("ascii")


@app.post("/console/connections/<connection_id>/certificates/remove")
def connection_certificate_remove(connection_id: str) -> Response:
    """Certificate rollover, step two: remove a certificate the IdP no longer signs with (never the last one)."""
    data = form()

    def act(s: _Signed) -> Response:
        fingerprint = data.get("fingerprint", "")
        try:
            IdpCertificates(connections()).remove(s.caller, connection_id, fingerprint)
        except DomainError as exc:
            return connection_page(s, connection_id, exc.status, error=exc.message)
        return connection_page(s, connection_id, notice=f"The certificate {fingerprint[:23]}... was removed.")

    return guarded("owner", act, data)


@app.post("/console/connections/<connection_id>/delete")
def connection_delete(connection_id: str) -> Response:
    """Delete a connection that is not switched on; its domains log in with the password again."""
    data = form()

    def act(s: _Signed) -> Response:
        if data.get("confirm") != "on":
            words = "Tick “I understand that the configuration is removed” to delete the connection."
            return connection_page(s, connection_id, 400, error=words)
        try:
            connections().delete(s.caller, connection_id)
        except DomainError as exc:
            return connection_page(s, connection_id, exc.status, error=exc.message)
        return ui.redirect("/console/domains?notice=connection-deleted")

    return guarded("owner", act, data)


@app.post("/console/connections/<connection_id>/settings")
def connection_settings(connection_id: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        signed_requests = data.get("signed_requests") == "on"
        try:
            connections().update(s.caller, connection_id, UpdateConnectionRequest(signed_requests=signed_requests))
        except DomainError as exc:
            return connection_page(s, connection_id, exc.status, error=exc.message)
        return connection_page(s, connection_id, notice="Settings saved.")

    return guarded("owner", act, data)


@app.post("/console/connections/<connection_id>/status")
def connection_status(connection_id: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        enabled = data.get("enabled") == "true"
        try:
            KillSwitchService(get_settings(), table()).set_connection_status(s.caller, connection_id, enabled)
        except DomainError as exc:
            return connection_page(s, connection_id, exc.status, error=exc.message)
        words = "Enterprise SSO is on." if enabled else "Enterprise SSO is off."
        return connection_page(s, connection_id, notice=words)

    return guarded("owner", act, data)


@app.post("/console/connections/<connection_id>/test")
def connection_test(connection_id: str) -> Response:
    """Test connection: the browser goes on to the single-use link, which starts the test login."""
    data = form()

    def act(s: _Signed) -> Response:
        try:
            link = start_connection_test(get_settings(), table(), s.caller, connection_id)
        except DomainError as exc:
            return connection_page(s, connection_id, exc.status, error=exc.message)
        return Response(status_code=303, headers={"Location": link.redirect_url, "Cache-Control": "no-store"}, body="")

    return guarded("admin", act, data)


@app.get("/console/connections/<connection_id>/trace")
def connection_trace(connection_id: str) -> Response:
    query = app.current_event.query_string_parameters or {}

    def show(s: _Signed) -> Response:
        reference = (query.get("reference") or "").strip() or None
        try:
            conn = connections().get(s.caller, connection_id)
            found = read_trace(table(), s.caller, connection_id, 25, query.get("cursor"), reference)
        except SsoNotAvailable:
            return sso_not_available(s)
        except DomainError as exc:
            return page(s, "message.html", exc.status, title="Not found", message=exc.message)
        return page(
            s,
            "trace.html",
            title="Login trace",
            active="domains",
            conn=conn,
            logins=found.logins,
            next_cursor=found.next_cursor,
            reference=reference,
        )

    return guarded("owner", show)


# ---- troubleshooting ---------------------------------------------------------------------------------------

# The refusals administrators meet most while setting up and rolling over a connection, in the order they are
# usually met (the whole vocabulary is in models/login_outcomes.py; the login trace explains any of them).
COMMON_REFUSALS = (
    Refusal.STATUS_NOT_SUCCESS,
    Refusal.UNKNOWN_CERTIFICATE,
    Refusal.SIGNATURE_INVALID,
    Refusal.UNSIGNED,
    Refusal.WRONG_AUDIENCE,
    Refusal.WRONG_DESTINATION,
    Refusal.WRONG_ISSUER,
    Refusal.EXPIRED,
    Refusal.NO_EMAIL,
    Refusal.DOMAIN_NOT_VERIFIED,
    Refusal.USER_NOT_INVITED,
    Refusal.CONNECTION_DISABLED,
    Refusal.REQUEST_EXPIRED,
)


@app.get("/console/troubleshooting")
def troubleshooting() -> Response:
    """Read-only reference for any signed-in role: what the IdP's error codes and the common refusals mean."""

    def show(s: _Signed) -> Response:
        entra = sorted(ENTRA_ERRORS.values(), key=lambda info: int(info.code.removeprefix("AADSTS")))
        refusals = [(code.value, REFUSALS[code]) for code in COMMON_REFUSALS]
        return page(
            s,
            "troubleshooting.html",
            title="Troubleshooting",
            active="troubleshooting",
            entra=entra,
            saml=list(SAML_STATUSES.values()),
            refusals=refusals,
        )

    return guarded("member", show)


# ---- users -------------------------------------------------------------------------------------------------


def invitations() -> InvitationService:
    return InvitationService(get_settings(), table(), mailer_for(get_settings()))


PAGE_SIZE = 25  # members and pending invitations per page (tests make it small)


def users_page(s: _Signed, status: int = 200, **extra: Any) -> Response:
    """Members and pending invitations, each paged with the API's opaque cursors (``members``, ``invitations``)."""
    query = app.current_event.query_string_parameters or {}
    members_at, invitations_at = query.get("members") or None, query.get("invitations") or None
    try:
        members = UserService(table()).list(s.caller, PAGE_SIZE, members_at)
        pending = invitations().list(s.caller, "pending", PAGE_SIZE, invitations_at)
    except InvalidRequest:  # a cursor edited by hand or from another list: start again at the first pages
        members_at = invitations_at = None
        members = UserService(table()).list(s.caller, PAGE_SIZE)
        pending = invitations().list(s.caller, "pending", PAGE_SIZE)
        status, extra["error"] = 400, "That page link is no longer valid; here are the first pages."
    return page(
        s,
        "users.html",
        status,
        title="Users",
        active="users",
        users=members.users,
        invitations=pending.invitations,
        members_at=members_at,
        invitations_at=invitations_at,
        members_next=members.next_cursor,
        invitations_next=pending.next_cursor,
        **extra,
    )


@app.get("/console/users")
def users_get() -> Response:
    return guarded("admin", users_page)


def _member_page(s: _Signed, user_id: str, template: str, status: int = 200, **extra: Any) -> Response:
    """The edit page or the removal confirmation of one member; another tenant's member is "not found"."""
    try:
        member = UserService(table()).get(s.caller, user_id)
    except DomainError as exc:
        return users_page(s, exc.status, error=exc.message)
    if not s.caller.at_least(member.role):
        return users_page(s, 403, error=RoleEscalation().message)
    title = "Remove member" if template == "user_remove.html" else "Edit member"
    return page(s, template, status, title=title, active="users", member=member, **extra)


@app.get("/console/users/<user_id>")
def user_edit_get(user_id: str) -> Response:
    return guarded("admin", lambda s: _member_page(s, user_id, "user_edit.html"))


@app.post("/console/users/<user_id>")
def user_edit(user_id: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        users = UserService(table())
        try:
            current = users.get(s.caller, user_id)
            accounts = [a.strip() for a in data.get("accounts", "").split(",") if a.strip()]
            # Accounts are sent only when changed: an admin may then change the role of a member who holds
            # accounts the admin does not (the API refuses a grant of accounts the caller does not hold).
            changed = accounts if accounts != current.accounts else None
            saved = users.update(s.caller, user_id, UpdateUserRequest(role=data.get("role", ""), accounts=changed))
        except DomainError as exc:
            return _member_page(s, user_id, "user_edit.html", exc.status, error=exc.message)
        except ValueError as exc:
            words = f"The change was not accepted: {_first_error(exc)}."
            return _member_page(s, user_id, "user_edit.html", 400, error=words)
        return users_page(
            s, notice=f"Saved: {saved.email} is {saved.role}, accounts {', '.join(saved.accounts) or 'none'}."
        )

    return guarded("admin", act, data)


@app.get("/console/users/<user_id>/remove")
def user_remove_get(user_id: str) -> Response:
    return guarded("admin", lambda s: _member_page(s, user_id, "user_remove.html"))


@app.post("/console/users/<user_id>/remove")
def user_remove(user_id: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        users = UserService(table())
        try:
            email = users.get(s.caller, user_id).email
            users.remove(s.caller, user_id)
        except DomainError as exc:
            return _member_page(s, user_id, "user_remove.html", exc.status, error=exc.message)
        return users_page(s, notice=f"Removed: {email} can no longer sign in to your organisation.")

    return guarded("admin", act, data)


@app.post("/console/users/invite")
def users_invite() -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        accounts = [a.strip() for a in data.get("accounts", "").split(",") if a.strip()]
        try:
            request = CreateInvitationRequest(email=data.get("email", ""), role=data.get("role", ""), accounts=accounts)
            result = invitations().create(s.caller, request)
        except DomainError as exc:
            return users_page(s, exc.status, error=exc.message)
        except ValueError as exc:
            return users_page(s, 400, error=f"The invitation was not accepted: {_first_error(exc)}.")
        words = "Invitation sent" if result.created else "An invitation was already pending; it is listed below"
        return users_page(s, notice=f"{words}: {result.invitation.email}.")

    return guarded("admin", act, data)


@app.post("/console/invitations/<invitation_id>/<action>")
def invitation_action(invitation_id: str, action: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        try:
            if action == "resend":
                out = invitations().resend(s.caller, invitation_id)
                notice = f"Invitation sent again to {out.email}."
            elif action == "revoke":
                invitations().revoke(s.caller, invitation_id)
                notice = "Invitation revoked."
            else:
                raise NotFoundError()
        except DomainError as exc:
            return users_page(s, exc.status, error=exc.message)
        return users_page(s, notice=notice)

    return guarded("admin", act, data)


# ---- provisioning (SCIM) -----------------------------------------------------------------------------------


def provisioning() -> ProvisioningAdmin:
    return ProvisioningAdmin(table(), get_settings())


MAPPING_ROWS_FREE = 1  # empty mapping rows offered below the saved ones (one more after each save)


def provisioning_page(s: _Signed, status: int = 200, **extra: Any) -> Response:
    query = app.current_event.query_string_parameters or {}
    settings = provisioning().read_settings(s.caller)
    try:
        activity = provisioning().activity(s.caller, PAGE_SIZE, query.get("cursor") or None)
    except (DomainError, ValueError):  # a cursor edited by hand: the newest entries
        activity = provisioning().activity(s.caller, PAGE_SIZE, None)
    mappings = extra.pop("mappings", None)
    if mappings is None:
        mappings = [(m.group, m.role, ",".join(m.accounts)) for m in settings.group_mappings]
    return page(
        s,
        "provisioning.html",
        status,
        title="Provisioning (SCIM)",
        active="provisioning",
        settings=settings,
        mappings=[*mappings, *[("", "member", "")] * MAPPING_ROWS_FREE],
        entries=activity.entries,
        next_cursor=activity.next_cursor,
        **extra,
    )


@app.get("/console/provisioning")
def provisioning_get() -> Response:
    return guarded("owner", provisioning_page)


@app.post("/console/provisioning/token")
def provisioning_token() -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        created = provisioning().create_token(s.caller)  # shown on this response only; the table keeps its hash
        return provisioning_page(
            s, notice="A new SCIM token was created; any previous token stopped working.", token=created.token
        )

    return guarded("owner", act, data)


@app.post("/console/provisioning/token/revoke")
def provisioning_revoke() -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        try:
            provisioning().revoke_token(s.caller)
        except DomainError as exc:
            return provisioning_page(s, exc.status, error=exc.message)
        return provisioning_page(s, notice="The SCIM token was revoked: automatic provisioning is off.")

    return guarded("owner", act, data)


def _accounts(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


@app.post("/console/provisioning/settings")
def provisioning_settings() -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        rows = sorted(int(k[6:]) for k in data if k.startswith("group_") and k[6:].isdigit())
        typed = [(data[f"group_{i}"].strip(), data.get(f"role_{i}", ""), data.get(f"accounts_{i}", "")) for i in rows]
        kept = [row for row in typed if row[0]]  # a row with no group name is no mapping (that is how one is removed)
        try:
            request = ProvisioningSettings(
                group_mappings=[GroupMapping(group=g, role=r, accounts=_accounts(a)) for g, r, a in kept],
                default_role=data.get("default_role", ""),
                default_accounts=_accounts(data.get("default_accounts", "")),
            )
            provisioning().save_settings(s.caller, request)
        except DomainError as exc:
            return provisioning_page(s, exc.status, error=exc.message, mappings=kept)
        except ValueError as exc:
            words = f"The settings were not accepted: {_first_error(exc)}."
            return provisioning_page(s, 400, error=words, mappings=kept)
        return provisioning_page(s, notice="Provisioning settings saved; they apply to each member's next change.")

    return guarded("owner", act, data)


# ---- security and audit ------------------------------------------------------------------------------------


def security_page(s: _Signed, status: int = 200, **extra: Any) -> Response:
    verified = [d for d in domains().list(s.caller).domains if d.status == "verified"]
    return page(s, "security.html", status, title="Security", active="security", domains=verified, **extra)


@app.get("/console/security")
def security_get() -> Response:
    return guarded("owner", security_page)


@app.post("/console/security/<domain>/password")
def security_password(domain: str) -> Response:
    data = form()

    def act(s: _Signed) -> Response:
        enabled = data.get("enabled") == "true"
        try:
            KillSwitchService(get_settings(), table()).set_password_login(s.caller, domain, enabled)
        except DomainError as exc:
            return security_page(s, exc.status, error=exc.message)
        words = "allowed again" if enabled else "switched off: its people now sign in with SSO only"
        return security_page(s, notice=f"Username and password for {domain}: {words}.")

    return guarded("owner", act, data)


@app.get("/console/audit")
def audit_get() -> Response:
    query = app.current_event.query_string_parameters or {}

    def show(s: _Signed) -> Response:
        try:
            found = read_audit(table(), s.caller, 25, query.get("cursor"))
        except (DomainError, ValueError):
            found = read_audit(table(), s.caller, 25, None)
        return page(
            s, "audit.html", title="Audit log", active="audit", entries=found.entries, next_cursor=found.next_cursor
        )

    return guarded("owner", show)


@app.not_found
def not_found(_exc: NotFoundError) -> Response:
    return ui.html(
        404,
        ui.render(
            "message.html",
            title="Page not found",
            message="There is no such console page.",
            link="/console/",
            link_label="Back to the console",
        ),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
