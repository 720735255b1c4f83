"""The few HTML pages a browser sees from this service: readable, escaped, strict CSP, never a stack trace."""

from __future__ import annotations

from html import escape

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; frame-ancestors 'none'"
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = (
    "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}"
    "main{max-width:34rem;margin:12vh auto;background:#fff;border-radius:12px;padding:2rem 2.5rem;"
    "box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem;margin-top:0}"
    ".ref{font-family:ui-monospace,monospace;background:#f0f1f4;padding:.2rem .5rem;border-radius:4px}"
    "p{line-height:1.5}"
)


def page(title: str, body_html: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body_html}</main></body></html>"
    )


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
