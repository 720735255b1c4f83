"""Review finding 3: text from the message never reaches logs or the owner-visible trace unbounded or unsanitised.

A genuinely signed response whose SignatureMethod Algorithm is 150,000 characters long (with control characters
and non-ASCII) is refused; the log line and the trace detail stay short and printable ASCII.
"""

from __future__ import annotations

import json
import logging

import pytest
from lxml import etree

from sso_core.log_safe import bounded
from sso_core.observability import logger
from sso_core.saml.xml_names import NS_DS
from tests.support import tampering
from tests.support.sso_checks import post, refused
from tests.support.sso_world import SsoWorld
from tests.support.tampering import assertion_of, signature_of

pytestmark = pytest.mark.integration

HUGE = "http://attacker.example/" + "\u00e9\u202e\t" + "A" * 150_000  # non-ASCII, bidi override, tab


def _refusal_lines(records: list[logging.LogRecord]) -> list[str]:
    """The refusal log lines as the function writes them (Powertools' JSON formatter)."""
    formatter = logger.registered_formatter
    return [formatter.format(r) for r in records if r.getMessage() == "SSO login refused"]


def test_a_huge_algorithm_stays_out_of_logs_and_trace(ready: SsoWorld, caplog: pytest.LogCaptureFixture) -> None:
    started = ready.start()
    root = tampering.parse(ready.response_xml(started.request_id))
    method = signature_of(assertion_of(root)).find(f"{{{NS_DS}}}SignedInfo/{{{NS_DS}}}SignatureMethod")
    assert method is not None
    method.set("Algorithm", HUGE)
    caplog.clear()
    resp = post(ready, etree.tostring(root), started)
    entry = refused(ready, resp, "unsupported_algorithm")
    assert len(entry["detail"]) <= 300, len(entry["detail"])
    assert entry["detail"].isascii() and entry["detail"].isprintable()
    assert "http://attacker.example/" in entry["detail"]  # still says what it was, bounded
    (line,) = _refusal_lines(caplog.records)
    assert len(line) < 2000, len(line)
    detail = json.loads(line)["detail"]
    assert entry["detail"].startswith(detail)  # the trace adds how many refusals of this kind this hour


def test_the_helper() -> None:
    assert bounded("urn:x") == "urn:x"
    assert bounded("a\x00b\nc\u00e9") == "a?b?c?"
    long = bounded("x" * 1000)
    assert len(long) == 120 and long.endswith("...")
    assert bounded("x" * 1000, 20) == "x" * 17 + "..."
