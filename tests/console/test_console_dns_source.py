"""The console's domain list says who answered the last DNS check: the domain's own name server, or our resolver."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.console import ConsoleClient

pytestmark = pytest.mark.integration


def _source_line(page: str) -> str:
    found = re.search(r'<p class="muted check-source">(.*?)</p>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


def test_the_domain_list_names_the_server_that_answered(console: ConsoleClient) -> None:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    page = console.post("/console/domains", {"domain": "example.com"})
    assert page.status_code == 200, page.text
    assert 'class="muted check-source"' not in page.text  # not checked yet: nothing to say
    name = re.search(r"<code>(_sso-challenge\.[^<]+)</code>", page.text).group(1)
    value = re.search(r"<code>(sso-domain-verification=[^<]+)</code>", page.text).group(1)

    # Nothing published: the embedded server does not serve the zone yet (lame), the resolver answers.
    first = console.post("/console/domains/example.com/check")
    assert _source_line(first.text).startswith("Answered by our DNS resolver: your domain's name servers could not")

    console.stack.dns.store.add(name, "TXT", value)
    checked = console.post("/console/domains/example.com/check")
    assert "example.com: Verified." in checked.text
    line = _source_line(console.get("/console/domains").text)
    assert line == f"Answered by your domain's name server at {console.stack.dns.address}."
