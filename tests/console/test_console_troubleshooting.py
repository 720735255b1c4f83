"""The console's Troubleshooting page: the Entra AADSTS table, the SAML status codes and the refusals admins meet
most, from the same data as the login trace (``models/idp_errors.py``, ``models/login_outcomes.py``); any
signed-in role may read it, and the menu and the login trace link to it."""

from __future__ import annotations

import re
from html import unescape

import pytest

from sso_core.models.idp_errors import ENTRA_ERRORS, SAML_STATUSES
from sso_core.models.login_outcomes import REFUSALS, Refusal
from tests.support.console import ConsoleClient, strict_page, verify_domain

pytestmark = pytest.mark.integration


def rows(html: str, table_id: str) -> list[tuple[str, str, str]]:
    """(code, meaning, fix) of each row of the table ``table_id``, as the reader sees them."""
    table = re.search(rf'<table class="cards" id="{table_id}">(.*?)</table>', html, re.S)
    assert table, f"no table {table_id}"
    cells = re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>", table.group(1), re.S)
    return [(unescape(re.sub(r"</?code>", "", c)), unescape(m), unescape(f)) for c, m, f in cells]


def test_a_member_reads_every_entra_error_and_saml_status_with_its_fix(console: ConsoleClient) -> None:
    console.sign_in("acme", "member@acme.test", "member", ["acct-main"])
    page = console.get("/console/troubleshooting")
    assert page.status_code == 200 and strict_page(page)
    assert re.search(r"<h1>\s*Troubleshooting\s*</h1>", page.text)
    assert '<a href="/console/troubleshooting" aria-current="page">Troubleshooting</a>' in page.text

    entra = rows(page.text, "entra-errors")
    assert [code for code, _, _ in entra] == sorted(ENTRA_ERRORS, key=lambda c: int(c.removeprefix("AADSTS")))
    for code, meaning, fix in entra:
        assert (meaning, fix) == (ENTRA_ERRORS[code].sentence, ENTRA_ERRORS[code].fix), code
    assert ("AADSTS50105", ENTRA_ERRORS["AADSTS50105"].sentence, ENTRA_ERRORS["AADSTS50105"].fix) in entra

    saml = rows(page.text, "saml-statuses")
    assert [(i.code, i.sentence, i.fix) for i in SAML_STATUSES.values()] == saml

    refusals = rows(page.text, "refusals")
    assert len(refusals) >= 10
    for code, meaning, fix in refusals:
        info = REFUSALS[Refusal(code)]
        assert (meaning, fix) == (info.sentence, info.fix), code
    assert {"unknown_certificate", "wrong_audience", "user_not_invited"} <= {code for code, _, _ in refusals}


def test_every_role_has_it_in_the_menu_and_the_trace_links_it(console: ConsoleClient) -> None:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    domains = console.get("/console/domains").text
    assert '<li><a href="/console/troubleshooting">Troubleshooting</a></li>' in domains
    verify_domain(console, "example.com")
    cid = console.post("/console/domains/example.com/manage").url.rsplit("/", 1)[-1]
    trace = console.get(f"/console/connections/{cid}/trace")
    assert trace.status_code == 200 and '<a href="/console/troubleshooting">Troubleshooting</a>' in trace.text
    for role in ("admin", "member"):
        other = ConsoleClient(console.stack)
        other.sign_in("acme", f"{role}@acme.test", role, ["acct-main"])
        landing = other.last
        assert landing is not None and 'href="/console/troubleshooting"' in landing.text, role
        assert other.get("/console/troubleshooting").status_code == 200, role


def test_it_needs_a_session(console: ConsoleClient) -> None:
    signed_out = console.get("/console/troubleshooting", follow=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/console/login?next=/console/troubleshooting"
    assert "AADSTS" not in signed_out.text


@pytest.mark.browser
def test_the_page_passes_axe_at_390_px(console_stack, browser_context) -> None:
    from playwright.sync_api import expect

    from tests.support.axe import assert_accessible

    context = browser_context.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(console_stack.console_link("acme", "member@acme.test", "member", ["acct-main"]))
    page.goto(f"{console_stack.url}/console/troubleshooting")
    expect(page.locator("h1")).to_have_text("Troubleshooting")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    assert_accessible(page, "troubleshooting")
    context.close()
