"""The table of IdP errors: Entra numbers read from a StatusMessage, guidance most specific first, and the
troubleshooting page generated from the same table."""

from __future__ import annotations

from pathlib import Path

import pytest

from sso_core.dal.logins import TraceEntry
from sso_core.edge.pages import connection_test_failed
from sso_core.logic.login_trace import _line
from sso_core.models.idp_errors import (
    ENTRA_ERRORS,
    SAML_STATUSES,
    STATUS_PREFIX,
    IdpStatus,
    aadsts_code,
    bounded_code,
    explain,
    troubleshooting_tables,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
BEGIN = "<!-- idp-errors:begin (generated from models/idp_errors.py) -->"
END = "<!-- idp-errors:end -->"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("AADSTS50105: The signed in user 'x@y.z' is not assigned", "AADSTS50105"),
        ("Error AADSTS7500514: A supported type of SAML response was not found.", "AADSTS7500514"),
        ("prefix AADSTS700016 and AADSTS50011", "AADSTS700016"),
        ("AADSTS1234 is too short", None),
        ("AADSTS1234567890 is too long", None),
        ("no code here", None),
        ("", None),
        (None, None),
    ],
)
def test_only_the_number_is_read(message: str | None, expected: str | None) -> None:
    assert aadsts_code(message) == expected


def test_guidance_is_most_specific_first() -> None:
    status = IdpStatus(STATUS_PREFIX + "Responder", STATUS_PREFIX + "RequestDenied", "AADSTS50105")
    assert [g.code for g in explain(status)] == ["AADSTS50105", "RequestDenied", "Responder"]
    assert explain(IdpStatus("urn:example:other")) == []


def test_an_unknown_entra_number_says_where_to_look() -> None:
    (found,) = explain(IdpStatus(STATUS_PREFIX + "Foo", None, "AADSTS99999"))
    assert found.code == "AADSTS99999"
    assert "https://login.microsoftonline.com/error?code=99999" in found.fix


def test_every_entry_has_a_sentence_and_a_fix() -> None:
    for code, info in ENTRA_ERRORS.items():
        assert code == info.code and code.startswith("AADSTS") and code[6:].isdigit()
        assert info.sentence.endswith(".") and info.fix.endswith(".")
    for uri, info in SAML_STATUSES.items():
        assert uri == STATUS_PREFIX + info.code
        assert info.sentence.endswith(".") and info.fix.endswith(".")


def test_bounded_code_keeps_printable_ascii_up_to_the_limit() -> None:
    assert bounded_code("urn:x y\n\x00" + "a" * 500) == ("urn:xy" + "a" * 500)[:200]


def test_the_troubleshooting_page_lists_the_same_table() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert generated == troubleshooting_tables(), "regenerate: python -m sso_core.models.idp_errors"


def test_the_trace_and_the_test_page_carry_the_guidance() -> None:
    from datetime import UTC, datetime

    status = IdpStatus(STATUS_PREFIX + "Requester", STATUS_PREFIX + "RequestUnsupported", "AADSTS900236")
    entry = TraceEntry(
        datetime.now(UTC),
        "SSO-1234-5678-9ABC",
        "status_not_success",
        "status_not_success",
        "d",
        None,
        "admin@acme.example",
        status,
    )
    line = _line(entry)
    assert line.test and line.started_by == "admin@acme.example"
    assert line.idp_status is not None
    assert [g["code"] for g in line.idp_status.guidance] == ["AADSTS900236", "RequestUnsupported", "Requester"]
    page = connection_test_failed("status_not_success", "<d>", "SSO-1234-5678-9ABC", status)
    assert "AADSTS900236" in page and "RequestUnsupported" in page and "&lt;d&gt;" in page
    assert ENTRA_ERRORS["AADSTS900236"].sentence.replace("'", "&#x27;") in page
