"""Review finding 4: NUL bytes and any encoding but UTF-8 are refused before any parser runs.

UTF-16LE without a byte-order mark decodes as "valid UTF-8" (ASCII with NULs), so the raw-text DOCTYPE and
encoding checks did not see it and libxml2 parsed the document (and its DTD) itself. Both the ACS (a genuinely
signed response, re-encoded) and the IdP metadata import (real pysaml2 metadata, re-encoded) are checked, with a
spy on lxml's parser showing nothing was parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from lxml import etree

from sso_core.saml import AcsRejected, InvalidIdpMetadata, parse_idp_metadata, safe_xml
from sso_local.saml_idp import RealIdp
from tests.support.saml_messages import USER

DOCTYPE = '<!DOCTYPE r [<!ENTITY e "x">]>'


def _utf16le(xml: str) -> bytes:
    return xml.encode("utf-16-le")  # no byte-order mark


def _utf16_bom(xml: str) -> bytes:
    return xml.encode("utf-16")  # with the byte-order mark


def _with_doctype(xml: str) -> str:
    head, sep, rest = xml.partition("?>")
    return f"{head}{sep}{DOCTYPE}{rest}" if sep else DOCTYPE + xml


def _declaring(xml: str, encoding: str) -> str:
    body = xml.split("?>", 1)[1] if xml.lstrip().startswith("<?xml") else xml
    return f'<?xml version="1.0" encoding="{encoding}"?>{body}'


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every document lxml was asked to parse through the hardened parser."""
    seen: list[bytes] = []
    real = etree.fromstring

    def spy(text: bytes, parser: object = None, **kwargs: object) -> etree._Element:
        seen.append(text)
        return real(text, parser, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(safe_xml.etree, "fromstring", spy)
    yield seen


@pytest.mark.parametrize("encode", [_utf16le, _utf16_bom], ids=["utf16le-no-bom", "utf16-bom"])
@pytest.mark.parametrize("doctype", [False, True], ids=["plain", "with-doctype"])
def test_acs_refuses_a_signed_response_in_utf16(
    entra_xml: str, validate: Callable[..., object], parsed: list[bytes], encode, doctype: bool
) -> None:
    xml = _with_doctype(entra_xml) if doctype else entra_xml
    with pytest.raises(AcsRejected) as caught:
        validate(encode(xml))
    assert caught.value.reason == "malformed", caught.value.detail
    assert "UTF-8" in caught.value.detail or "NUL" in caught.value.detail
    assert parsed == []  # refused before any parser ran


def test_acs_refuses_a_nul_byte_and_a_declared_utf16(entra_xml: str, validate, parsed: list[bytes]) -> None:
    for message in (entra_xml.replace(">", ">\x00", 1).encode(), _declaring(entra_xml, "UTF-16")):
        with pytest.raises(AcsRejected) as caught:
            validate(message if isinstance(message, bytes) else message.encode())
        assert caught.value.reason == "malformed"
    assert parsed == []


@pytest.mark.parametrize(
    "variant",
    [
        lambda x: _utf16le(x).decode("latin-1"),  # the bytes of a UTF-16LE file, read as if they were text
        lambda x: _utf16_bom(x).decode("latin-1"),
        lambda x: _utf16le(_with_doctype(x)).decode("latin-1"),
        lambda x: _declaring(x, "UTF-16"),
        lambda x: x.replace("<", "\x00<", 1),
    ],
    ids=["utf16le-no-bom", "utf16-bom", "utf16le-doctype", "declared-utf16", "nul"],
)
def test_metadata_import_refuses_other_encodings(
    idp_a: RealIdp, now: datetime, parsed: list[bytes], variant: Callable[[str], str]
) -> None:
    with pytest.raises(InvalidIdpMetadata) as caught:
        parse_idp_metadata(variant(idp_a.metadata_xml()), now)
    assert "UTF-8" in str(caught.value) or "NUL" in str(caught.value)
    assert parsed == []


def test_plain_utf8_still_imports_and_validates(idp_a: RealIdp, entra_xml: str, validate, now: datetime) -> None:
    assert parse_idp_metadata("\ufeff" + idp_a.metadata_xml(), now).entity_id == idp_a.entity_id
    assert validate(b"\xef\xbb\xbf" + entra_xml.encode()).email == USER  # a UTF-8 BOM is fine
