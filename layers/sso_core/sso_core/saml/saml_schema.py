"""SAML schema validation for pysaml2, on libxml2 instead of the pure-Python ``xmlschema``.

pysaml2 validates every signed element against the SAML schemas before checking its
signature (``saml2.sigver._check_signature`` -> ``saml2.xml.schema.validate``). With the
``xmlschema`` package that took about 3.4 ms of a 5.8 ms response validation, more than
python3-saml's whole validation; libxml2's validator, over the very schema files pysaml2
ships, takes about 0.06 ms (measurements in docs/decisions-saml.md). ``install()`` puts it in
place of pysaml2's default validator, which is the only one its signature checks use.
The check is kept, only its implementation changes.
"""

from __future__ import annotations

import threading
from importlib.resources import files

from lxml import etree

from sso_core.saml import safe_xml, schema_hook

# pysaml2's schemas import the W3C ones by their canonical URLs; the files ship beside them.
_LOCAL_COPIES = {
    "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd": "xmldsig-core-schema.xsd",
    "http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd": "xenc-schema.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
}


class SchemaInvalid(ValueError):
    """The document does not conform to the SAML 2.0 protocol and assertion schemas."""


class _LocalSchemas(etree.Resolver):
    """Serves the imported W3C schemas from pysaml2's package; nothing is fetched."""

    def __init__(self) -> None:
        super().__init__()
        self._directory = files("saml2.data.schemas")

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        name = _LOCAL_COPIES.get(system_url)
        if name is None:
            return None
        return self.resolve_filename(str(self._directory.joinpath(name)), context)


class LibxmlSamlSchema:
    """Drop-in for pysaml2's validator object: ``validate(text)`` raises when invalid."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _schema(self) -> etree.XMLSchema:
        schema = getattr(self._local, "schema", None)
        if schema is None:
            # The schema files are pysaml2's own, trusted: their DTD entities may be expanded.
            parser = etree.XMLParser(no_network=True, load_dtd=True, resolve_entities=True)
            parser.resolvers.add(_LocalSchemas())
            source = files("saml2.data.schemas").joinpath("saml-schema-protocol-2.0.xsd")
            schema = etree.XMLSchema(etree.parse(str(source), parser))
            self._local.schema = schema
        return schema

    def validate(self, document: str | bytes) -> None:
        text = document.decode("utf-8") if isinstance(document, bytes) else document
        try:
            root = safe_xml.parse(text)
        except safe_xml.UnsafeXml as exc:
            raise SchemaInvalid(exc.detail) from None
        schema = self._schema()
        if not schema.validate(root):
            error = schema.error_log.last_error
            # Type and position only: libxml2's messages may quote values from the document.
            raise SchemaInvalid(f"Schema violation {error.type_name} at line {error.line}.")


def install() -> None:
    """See ``sso_core.saml.schema_hook.install`` (kept here, where the validator lives)."""
    schema_hook.install()
