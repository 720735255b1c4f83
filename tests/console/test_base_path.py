"""The console under SSO_PUBLIC_URL's base path (/sso): its redirects, links, forms, stylesheet and script all
carry it, so a browser behind a custom domain's API mapping never leaves the mapping."""

from __future__ import annotations

import re

import pytest

from sso_core.config import get_settings
from sso_core.edge import console as ui
from sso_local.gateway import Gateway
from tests.support.api import Api

pytestmark = pytest.mark.integration

LINK = re.compile(r"""(?:href|action|src)=["']([^"']+)["']""")


@pytest.fixture
def under_sso(aws, authority, monkeypatch) -> Api:
    monkeypatch.setenv("SSO_PUBLIC_URL", "https://example.com/sso")
    get_settings.cache_clear()
    return Api(Gateway(authority, base_path="/sso"), authority)


def test_redirect_to_sign_in_carries_the_base_path(under_sso):
    resp = under_sso.call("GET", "/sso/console/domains")
    assert resp.status == 303
    assert resp.header("location").startswith("/sso/console/login")


def test_every_link_of_a_page_carries_the_base_path(monkeypatch):
    page = {"title": "Page not found", "message": "No such page.", "link": "/console/", "link_label": "Back"}
    plain = ui.render("message.html", **page)
    monkeypatch.setenv("SSO_PUBLIC_URL", "https://example.com/sso")
    based = ui.render("message.html", **page)
    root_links = [link for link in LINK.findall(plain) if link.startswith("/")]
    assert "/console/static/console.css" in root_links and "/console/" in root_links
    assert [link for link in LINK.findall(based) if link.startswith("/")] == [f"/sso{link}" for link in root_links]
    assert ui.redirect("/console/users").headers["Location"] == "/sso/console/users"
    assert ui.redirect("https://issuer.example/authorize").headers["Location"] == "https://issuer.example/authorize"
