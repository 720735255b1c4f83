"""One way to build a page: every HTML answer (the ACS's failure pages, the login start's refusal, the invitation
link) carries the same security headers, a CSP that pins the one stylesheet by hash, and no inline anything."""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode

import pytest

from sso_core.edge.pages import PAGE_CSP, PAGE_HEADERS, PAGE_STYLE, page
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration


def test_the_csp_pins_exactly_the_stylesheet_the_pages_carry() -> None:
    html = page("<T>", "<p>x</p>")
    (style,) = re.findall(r"<style>(.*?)</style>", html)
    assert style == PAGE_STYLE
    digest = b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in PAGE_CSP
    assert "unsafe-inline" not in PAGE_CSP and "script-src" not in PAGE_CSP
    assert "<title>&lt;T&gt;</title>" in html


def assert_page_headers(resp) -> None:
    assert (resp.header("content-type") or "").startswith("text/html")
    for name, value in PAGE_HEADERS.items():
        assert resp.header(name.lower()) == value, name


def test_every_html_answer_carries_the_one_header_set(ready: SsoWorld) -> None:
    assert_page_headers(ready.post_acs("not base64 at all"))  # SSO auth failed
    assert_page_headers(ready.api.call("GET", f"/saml/{ready.connection_id}/login", query="email=x%40elsewhere.test"))
    assert_page_headers(ready.api.call("GET", "/invitations/accept", query="token=unknown"))
