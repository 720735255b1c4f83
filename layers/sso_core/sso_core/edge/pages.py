"""Every HTML page a browser sees from this service, built one way: one layout, one stylesheet, one header set.

The stylesheet is named in the Content-Security-Policy by its hash, so no page needs ``'unsafe-inline'``; pages
carry no script (the login start's auto-submit page has its own, hash-pinned, in ``saml.sp``). Every value is
escaped here; callers pass plain text, or HTML built with ``escape``.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode
from html import escape
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response

from sso_core.models.errors import DomainError
from sso_core.models.idp_errors import IdpErrorInfo, IdpStatus, explain, short_code
from sso_core.models.invitations import AcceptOut, InvitationPreview, InvitationUnusable
from sso_core.models.login_outcomes import describe

if TYPE_CHECKING:
    from sso_core.logic.connection_test import ConnectionTestReport

PAGE_STYLE = (
    "body{margin:0;padding:32px 16px;background:#f5f6f8;font-family:system-ui,-apple-system,Segoe UI,Helvetica,"
    "Arial,sans-serif;color:#1d2330}main{max-width:34rem;margin:8vh auto;background:#fff;border-radius:12px;"
    "padding:2rem 2.5rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem;margin:0 0 1rem}"
    "p{line-height:1.5}button{font:inherit;padding:12px 20px;border:0;border-radius:6px;background:#2956d6;"
    "color:#fff;cursor:pointer}.muted{color:#5a6273;font-size:14px}"
    ".ref{font-family:ui-monospace,monospace;background:#f0f1f4;padding:.2rem .5rem;border-radius:4px;"
    "overflow-wrap:anywhere}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}li{margin:.35rem 0;overflow-wrap:anywhere}"
)
_STYLE_HASH = b64encode(hashlib.sha256(PAGE_STYLE.encode()).digest()).decode()
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The security headers of every HTML answer (a page with a script replaces only the CSP, never drops the rest).
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def page(title: str, body_html: str) -> str:
    """A whole page: ``title`` is plain text; ``body_html`` is HTML whose values the caller escaped."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>{escape(title)}</title><style>{PAGE_STYLE}</style></head>"
        f"<body><main>{body_html}</main></body></html>"
    )


def html_response(status: int, html: str, csp: str | None = None, **kwargs: object) -> Response:
    """An HTML answer with the one header set (``csp`` replaces the policy for a page that needs a script)."""
    headers = {**PAGE_HEADERS, **({"Content-Security-Policy": csp} if csp else {})}
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=html,
        headers=headers,
        **kwargs,  # type: ignore[arg-type]
    )


# ---- the ACS and the login start ---------------------------------------------------------------------------


def sso_failed(reference: str) -> str:
    return page(
        "SSO auth failed",
        "<h1>SSO auth failed</h1>"
        "<p>We could not sign you in with your organisation's single sign-on.</p>"
        f"<p>Reference: <span class='ref' id='reference'>{escape(reference)}</span></p>"
        "<p>Give this reference to your administrator: it tells them exactly what went wrong. "
        "Then start again from the application's sign-in page.</p>",
    )


def sso_unsolicited(reference: str) -> str:
    return page(
        "SSO auth failed",
        "<h1>SSO auth failed</h1>"
        "<p>Sign-in must start from the application. Signing in from your identity provider's app list "
        "(an IdP-initiated sign-in) is not accepted, because it cannot be tied to your browser.</p>"
        "<p>Open the application's sign-in page and sign in with your work email.</p>"
        f"<p>Reference: <span class='ref' id='reference'>{escape(reference)}</span></p>",
    )


def sso_unavailable(message: str) -> str:
    return page(
        "Single sign-on unavailable",
        f"<h1>Single sign-on unavailable</h1><p>{escape(message)}</p>"
        "<p>Go back to the application's sign-in page and sign in another way.</p>",
    )


# ---- the connection test (the ACS's answer to a test login) ------------------------------------------------

_TEST_NOTE = (
    "<p class='muted'>This was a connection test: nobody was signed in to the application and no code was issued. "
    "It is recorded in the connection's login trace.</p>"
)


def _guidance(items: list[IdpErrorInfo]) -> str:
    return "".join(
        f"<p><strong>{escape(i.code)}</strong>: {escape(i.sentence)}<br>Fix: {escape(i.fix)}</p>" for i in items
    )


def connection_test_passed(report: ConnectionTestReport, reference: str) -> str:
    """What the IdP sent in a test login that validated completely (every value escaped, the lists bounded)."""
    rows = [
        ("IdP (Issuer)", report.issuer),
        ("NameID", report.name_id),
        ("NameID format", report.name_id_format or "(none)"),
        ("Email found", report.email),
    ]
    facts = "".join(f"<li>{escape(name)}: <span class='ref'>{escape(value)}</span></li>" for name, value in rows)
    attributes = "".join(
        f"<li><span class='ref'>{escape(name)}</span>: {escape(', '.join(values))}</li>"
        for name, values in report.attributes
    )
    if report.attributes_left_out:
        attributes += f"<li>and {report.attributes_left_out} more, not shown</li>"
    cert = report.certificate
    certificate = (
        "<ul>"
        f"<li>SHA-256 fingerprint: <span class='ref'>{escape(cert.sha256_fingerprint)}</span></li>"
        f"<li>Subject: {escape(cert.subject)}</li><li>Valid until: {escape(cert.not_after)}</li></ul>"
        if cert
        else "<p>(not known)</p>"
    )
    return page(
        "Connection test passed",
        "<h1>Connection test passed</h1>"
        "<p id='outcome'>The identity provider's response passed every check: signature, issuer, audience, "
        "recipient, times, single use, and the email's domain.</p>"
        f"<h2>What the IdP sent</h2><ul id='sent'>{facts}</ul>"
        f"<h2>Attributes (claims)</h2><ul id='attributes'>{attributes or '<li>(none)</li>'}</ul>"
        f"<h2>Certificate that verified the signature</h2>{certificate}"
        f"<p>Started by {escape(report.started_by)}. "
        f"Reference: <span class='ref' id='reference'>{escape(reference)}</span></p>{_TEST_NOTE}",
    )


def connection_test_failed(reason: str, detail: str, reference: str, idp_status: IdpStatus | None) -> str:
    """A refused test login: the reason's sentence and fix from the one vocabulary, the IdP's error explained."""
    info = describe(reason)
    sentence, fix = (info.sentence, info.fix) if info else ("The login was refused.", "")
    idp = ""
    if idp_status is not None:
        codes = " / ".join(short_code(c) for c in (idp_status.code, idp_status.second_code) if c)
        entra = f" (Entra {escape(idp_status.aadsts)})" if idp_status.aadsts else ""
        idp = (
            f"<h2>The IdP's error</h2><p>Status: <span class='ref'>{escape(codes)}</span>{entra}</p>"
            f"{_guidance(explain(idp_status))}"
        )
    return page(
        "Connection test failed",
        "<h1>Connection test failed</h1>"
        f"<p id='outcome'><strong>{escape(sentence)}</strong></p>"
        f"<p>Fix: {escape(fix)}</p><p class='muted'>Code: {escape(reason)}. Detail: {escape(detail)}</p>{idp}"
        f"<p>Reference: <span class='ref' id='reference'>{escape(reference)}</span></p>{_TEST_NOTE}",
    )


def connection_test_unusable(message: str) -> str:
    return page(
        "Connection test not started",
        f"<h1>Connection test not started</h1><p>{escape(message)}</p>",
    )


# ---- invitations (the public accept link) ------------------------------------------------------------------

NEXT_STEPS = {
    "sso": "Your organisation signs you in with single sign-on: sign in to the application with this email "
    "and you will be sent to your organisation's sign-in page.",
    "password": "Sign in to the application with this email and your password.",
}


def accept_page(preview: InvitationPreview, token: str) -> str:
    title = f"Join {preview.tenant_name}"
    return page(
        title,
        f"<h1>{escape(title)}</h1>"
        f"<p>You are invited to join <strong>{escape(preview.tenant_name)}</strong> as "
        f"<strong>{escape(preview.role)}</strong> with the email <strong>{escape(preview.email)}</strong>.</p>"
        # A relative action: the form posts back to this route, the token in the body and not in a URL.
        '<form method="post" action="accept">'
        f'<input type="hidden" name="token" value="{escape(token, quote=True)}">'
        '<button type="submit">Accept the invitation</button></form>'
        f'<p class="muted">The invitation expires on {escape(preview.expires_at.strftime("%Y-%m-%d %H:%M"))} UTC.</p>',
    )


def accepted_page(result: AcceptOut) -> str:
    title = f"You have joined {result.tenant_name}"
    return page(
        title,
        f"<h1>{escape(title)}</h1>"
        f"<p>You have joined <strong>{escape(result.tenant_name)}</strong> as <strong>{escape(result.email)}</strong>."
        f"</p><p>Next step: {escape(NEXT_STEPS[result.next])}</p>",
    )


def error_page(error: DomainError) -> str:
    title = "Invitation link not usable" if isinstance(error, InvitationUnusable) else "Something went wrong"
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(error.message)}</p>")
