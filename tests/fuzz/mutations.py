"""Hypothesis strategies that derive hostile inputs from a genuine document: byte flips, truncations, element and
attribute mutations made with lxml on the parsed tree (re-serialised), and plain random bytes or text."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st
from lxml import etree

# Names and values an attacker would try: SAML and XML-DSig names, IDs, algorithms, namespaces, huge and odd text.
NAMES = st.sampled_from(
    [
        "ID",
        "Version",
        "IssueInstant",
        "InResponseTo",
        "Destination",
        "Recipient",
        "NotBefore",
        "NotOnOrAfter",
        "Algorithm",
        "URI",
        "Format",
        "entityID",
        "Binding",
        "Location",
        "use",
        "{http://www.w3.org/2001/XMLSchema-instance}type",
        "{http://www.w3.org/XML/1998/namespace}base",
    ]
)
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "2.0",
            "1.1",
            "#_",
            "#",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            "http://www.w3.org/TR/1999/REC-xpath-19991116",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-13-45T25:61:61Z",
            "http://127.0.0.1/",
            "javascript:alert(1)",
            "x" * 5000,
        ]
    ),
)
TEXTS = st.one_of(st.text(max_size=60), st.sampled_from(["", "AAAA", "=", "\u0000", "\ufeff", "A" * 3000]))


class Seed(bytes):
    """A genuine document; short in failure reports (Hypothesis prints the strategy's arguments)."""

    def __repr__(self) -> str:
        return f"<seed document, {len(self)} bytes>"


def xml_safe(text: str) -> str:
    """What lxml accepts as element text or attribute value (no NULs, C0 controls, surrogates or non-characters)."""
    return "".join(
        ch
        for ch in text
        if (ch >= " " or ch in "\t\n\r") and not "\ud800" <= ch <= "\udfff" and ch not in "\ufffe\uffff"
    )


def _elements(root: etree._Element) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


@st.composite
def tree_mutation(draw: st.DrawFn, document: bytes) -> bytes:
    """One to three structural edits of ``document`` made with lxml, serialised again."""
    root = etree.fromstring(document)
    for _ in range(draw(st.integers(1, 3))):
        elements = _elements(root)
        target = elements[draw(st.integers(0, len(elements) - 1))]
        operation = draw(
            st.sampled_from(["drop", "duplicate", "text", "set_attr", "drop_attr", "move", "wrap", "comment"])
        )
        parent = target.getparent()
        if operation == "drop" and parent is not None:
            parent.remove(target)
        elif operation == "duplicate" and parent is not None:
            parent.insert(parent.index(target) + draw(st.integers(0, 1)), etree.fromstring(etree.tostring(target)))
        elif operation == "text":
            target.text = xml_safe(draw(TEXTS))
        elif operation == "set_attr":
            target.set(draw(NAMES), xml_safe(draw(VALUES)))
        elif operation == "drop_attr" and target.attrib:
            del target.attrib[draw(st.sampled_from(sorted(target.attrib)))]
        elif operation == "move" and parent is not None:
            others = [e for e in _elements(root) if e is not target and target not in e.iterancestors()]
            if others:
                parent.remove(target)
                others[draw(st.integers(0, len(others) - 1))].append(target)
        elif operation == "wrap" and parent is not None:
            wrapper = etree.Element(target.tag)
            parent.replace(target, wrapper)
            wrapper.append(target)
        elif operation == "comment":
            target.insert(0, etree.Comment(xml_safe(draw(st.text(max_size=10))).replace("-", "")))
    return etree.tostring(root)


@st.composite
def byte_flips(draw: st.DrawFn, document: bytes) -> bytes:
    data = bytearray(document)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def truncation(draw: st.DrawFn, document: bytes) -> bytes:
    return document[: draw(st.integers(0, len(document) - 1))]


def derived_documents(document: bytes) -> st.SearchStrategy[bytes]:
    """Bytes derived from ``document``; the original itself among them now and then."""
    return st.one_of(
        st.just(document),
        byte_flips(document),
        truncation(document),
        tree_mutation(document),
        st.binary(max_size=2000),
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@st.composite
def form_values(draw: st.DrawFn, document: bytes) -> str:
    """A SAMLResponse form value: a derived document in base64 (sometimes cut or with junk), or junk."""
    kind = draw(st.sampled_from(["b64", "b64", "b64", "cut_b64", "junk_b64", "text"]))
    if kind == "text":
        return draw(st.text(max_size=300))
    encoded = b64(draw(derived_documents(document)))
    if kind == "cut_b64":
        return encoded[: draw(st.integers(0, max(0, len(encoded) - 1)))]
    if kind == "junk_b64":
        at = draw(st.integers(0, len(encoded)))
        return encoded[:at] + draw(st.text(alphabet="=-_!*\n\r\t %", min_size=1, max_size=5)) + encoded[at:]
    return encoded


def as_text(data: bytes, how: Any) -> str:
    return data.decode("utf-8", errors=how)
