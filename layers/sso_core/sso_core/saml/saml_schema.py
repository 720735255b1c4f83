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
from pathlib import Path

from lxml import etree

from sso_core.saml import safe_xml, schema_hook

# Every schema the SAML protocol schema needs, dependencies first, from pysaml2's package. The W3C ones are
# imported by pysaml2's files under their canonical http URLs; importing the local copies first makes libxml2 skip
# those later imports ("namespace already imported"), so building the schema reads local files only and needs no
# resolver (see _WRAPPER).
_SCHEMA_FILES = (
    ("http://www.w3.org/2000/09/xmldsig#", "xmldsig-core-schema.xsd"),
    ("http://www.w3.org/2001/04/xmlenc#", "xenc-schema.xsd"),
    ("urn:oasis:names:tc:SAML:2.0:assertion", "saml-schema-assertion-2.0.xsd"),
    ("urn:oasis:names:tc:SAML:2.0:protocol", "saml-schema-protocol-2.0.xsd"),
)


class SchemaInvalid(ValueError):
    """The document does not conform to the SAML 2.0 protocol and assertion schemas."""


def _wrapper() -> bytes:
    """A schema that only imports the SAML schemas from local paths.

    Why not a Resolver: lxml installs its resolver hook as libxml2's process-wide external entity loader for the
    length of each parse and each schema build, and puts back the loader it found afterwards, with the GIL
    released. A parse in another thread that started before a schema build and ends during it puts back
    libxml2's default loader under the build, whose remaining imports then bypass the Resolver, are not found
    (``The QName value '{...xmlenc#}EncryptedData' does not resolve``), and the build fails. Under load that
    refused about one valid assertion in 300 as ``malformed``. With local paths the default loader finds the
    files too, so the build no longer depends on which loader is installed (docs/decisions.md).
    """
    directory = files("saml2.data.schemas")
    imports = "".join(
        f'<xs:import namespace="{namespace}" schemaLocation="{Path(str(directory.joinpath(name))).as_uri()}"/>'
        for namespace, name in _SCHEMA_FILES
    )
    return f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'.encode()


def build_schema() -> etree.XMLSchema:
    """The SAML protocol and assertion schemas, compiled by libxml2 from pysaml2's files; nothing is fetched."""
    return etree.XMLSchema(etree.fromstring(_wrapper(), etree.XMLParser(no_network=True, resolve_entities=False)))


class LibxmlSamlSchema:
    """Drop-in for pysaml2's validator object: ``validate(text)`` raises when invalid."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _schema(self) -> etree.XMLSchema:
        schema = getattr(self._local, "schema", None)
        if schema is None:
            schema = build_schema()
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
