"""The admin console's edge: Jinja2 pages (autoescaped, one layout), static files, the session cookie and CSRF.

No inline script or style anywhere: the stylesheet and the one script are files under ``/console/static/``, so the
Content-Security-Policy allows ``'self'`` only.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sso_core.config import base_path_from_env
from sso_core.models.identity import Caller

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "console_templates"
STATIC = HERE / "console_static"

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
CONSOLE_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# __Host-: Secure, Path=/, no Domain: the cookie cannot be set or overwritten by a sibling host or a sub-path.
SESSION_COOKIE = "__Host-console"
SIGN_IN_COOKIE = "__Host-console-signin"  # ties a sign-in's callback to the browser that started it

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

NAV = [
    ("domains", "Domains", "owner"),
    ("security", "Security", "owner"),
    ("users", "Users", "admin"),
    ("provisioning", "Provisioning", "owner"),
    ("audit", "Audit log", "owner"),
    ("troubleshooting", "Troubleshooting", "member"),
]


# The templates link from the API's root ('/console/...'); under SSO_PUBLIC_URL's base path every link, form
# action, script and stylesheet must carry it, as must every redirect (docs/decisions.md).
_ROOT_LINK = re.compile(r"""((?:href|action|src)=["'])/(?!/)""")


def under_base_path(page: str) -> str:
    base = base_path_from_env(os.environ)
    return _ROOT_LINK.sub(lambda m: f"{m.group(1)}{base}/", page) if base else page


def render(template: str, caller: Caller | None = None, csrf: str = "", **context: Any) -> str:
    nav = [(key, label) for key, label, role in NAV if caller is not None and caller.at_least(role)]
    return under_base_path(env.get_template(template).render(caller=caller, csrf=csrf, nav=nav, **context))


def html(status: int, body: str, cookies: list[Cookie] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=body,
        headers=dict(CONSOLE_HEADERS),
        cookies=cookies or [],
    )


def redirect(location: str, cookies: list[Cookie] | None = None) -> Response:
    """A 303 to ``location``; a path from the API's root ('/console/...') gets the base path."""
    if location.startswith("/") and not location.startswith("//"):
        location = base_path_from_env(os.environ) + location
    return Response(status_code=303, body="", headers={**CONSOLE_HEADERS, "Location": location}, cookies=cookies or [])


def static_file(name: str) -> Response | None:
    """A file of the console's static folder (no sub-folders, no dot-files), or None."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = STATIC / name
    if not path.is_file():
        return None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        status_code=200,
        content_type=f"{content_type}; charset=utf-8" if content_type.startswith("text/") else content_type,
        body=path.read_text(encoding="utf-8"),
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


def session_cookie(session_id: str, max_age: int) -> Cookie:
    return Cookie(
        name=SESSION_COOKIE,
        value=session_id,
        path="/",
        secure=True,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def cleared_session_cookie() -> Cookie:
    return session_cookie("", 0)


def sign_in_cookie(secret: str, max_age: int = 600) -> Cookie:
    return Cookie(
        name=SIGN_IN_COOKIE,
        value=secret,
        path="/",
        secure=True,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def read_cookie(cookies: list[str] | None, name: str = SESSION_COOKIE) -> str | None:
    for raw in cookies or []:
        jar: SimpleCookie = SimpleCookie()
        with contextlib.suppress(CookieError):  # a malformed cookie is no cookie
            jar.load(raw)
        if name in jar and jar[name].value:
            return jar[name].value
    return None
