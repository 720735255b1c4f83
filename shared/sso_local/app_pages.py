"""The local stack plays the application's own sign-in page, at ``/_local/app/`` (never deployed).

In production this page belongs to the application: an email field and "Continue". The application asks the
service's discovery (``POST /login/discover``) server to server, then either sends the browser to the SSO start URL
discovery gave, or goes on with its own password sign-in (here: a page that says so, with discovery's notice). The
SSO login ends on ``/_local/app/callback``, which redeems the code and shows the profile.

No script at all; the one inline style is allowed by its hash, so the policy is ``default-src 'none'``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from hashlib import sha256
from html import escape
from urllib.parse import parse_qs

from .gateway import GatewayResponse

PATH = "/_local/app/"
_STYLE = (
    "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}"
    "main{max-width:26rem;margin:10vh auto;background:#fff;border-radius:10px;padding:2rem 2.5rem;"
    "box-shadow:0 2px 14px rgba(0,0,0,.1)}h1{font-size:1.5rem;margin:.2rem 0 .6rem}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input{width:100%;box-sizing:border-box;padding:.6rem;margin-top:.3rem;border:1px solid #b8c0cc;"
    "border-radius:6px;font-size:1rem}button{margin-top:1.4rem;padding:.65rem 1.4rem;border:0;border-radius:6px;"
    "background:#2d6a4f;color:#fff;font-size:1rem;cursor:pointer}button:focus,input:focus{outline:3px solid #95d5b2}"
    ".notice{background:#fff4d6;padding:.6rem .8rem;border-radius:6px}"
    ".error{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:6px}.muted{color:#5a6270}"
)
_STYLE_HASH = "sha256-" + base64.b64encode(sha256(_STYLE.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src '{_STYLE_HASH}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
MAX_EMAIL = 320

Discover = Callable[[str], GatewayResponse]


def _page(status: int, title: str, content: str) -> GatewayResponse:
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)} - Example app</title><style>{_STYLE}</style></head>"
        f"<body><main><p class='muted'>Example app</p><h1>{escape(title)}</h1>{content}</main></body></html>"
    )
    return GatewayResponse(
        status,
        [
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
            ("content-security-policy", CSP),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
        ],
        page.encode(),
    )


def sign_in_form(email: str = "", error: str | None = None, status: int = 200) -> GatewayResponse:
    problem = f"<p class='error' role='alert' id='error'>{escape(error)}</p>" if error else ""
    return _page(
        status,
        "Sign in",
        f"{problem}<form method='post' action='{PATH}'>"
        "<label for='email'>Work email</label>"
        f"<input id='email' name='email' type='email' autocomplete='email' required maxlength='{MAX_EMAIL}' "
        f"value='{escape(email, quote=True)}'>"
        "<button type='submit'>Continue</button></form>",
    )


def password_page(email: str, notice: str | None) -> GatewayResponse:
    shown = f"<p class='notice' role='status' id='notice'>{escape(notice)}</p>" if notice else ""
    return _page(
        200,
        "Password sign-in",
        f"{shown}<p id='method'>{escape(email)} signs in with a password: the application's own password sign-in "
        "would follow here.</p><p><a href='/_local/app/'>Use another email</a></p>",
    )


def handle(method: str, body: bytes, discover: Discover) -> GatewayResponse:
    """GET: the form. POST: discovery for the email, then the SSO start (303) or the password page."""
    if method in ("GET", "HEAD"):
        return sign_in_form()
    if method != "POST":
        return GatewayResponse(405, [("allow", "GET, POST")], b"")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=5)
    except (UnicodeDecodeError, ValueError):
        return sign_in_form(error="Enter your work email.", status=400)
    email = (fields.get("email") or [""])[0].strip()
    if not 3 <= len(email) <= MAX_EMAIL or "@" not in email:
        return sign_in_form(email[:MAX_EMAIL], "Enter your work email, like name@company.com.", 400)
    found = discover(email)
    try:
        answer = found.json()
    except ValueError:
        answer = {}
    if found.status != 200 or not isinstance(answer, dict):
        message = str((answer.get("error") or {}).get("message") if isinstance(answer, dict) else "")
        return sign_in_form(email, message or "Sign-in is not available right now; try again.", 400)
    if answer.get("method") == "sso" and answer.get("redirect_url"):
        return GatewayResponse(303, [("location", str(answer["redirect_url"])), ("cache-control", "no-store")], b"")
    return password_page(email, answer.get("notice"))


def discovery_call(gateway_handle: Callable[..., GatewayResponse]) -> Discover:
    """Discovery through the stack's gateway, as the application's server would call it."""

    def call(email: str) -> GatewayResponse:
        return gateway_handle(
            "POST",
            "/login/discover",
            headers={"content-type": "application/json"},
            body=json.dumps({"email": email}),
        )

    return call
