"""What ``saml2.xml.schema`` is in this process when ``saml_schema.install()`` runs before pysaml2.

pysaml2's own module builds an ``xmlschema`` validator of every SAML schema when it is
imported (about 0.35 s of a cold start, plus 0.15 s to import ``xmlschema`` and
``elementpath``), and ``install()`` then replaced that validator with libxml2's at once.
This module offers the same names pysaml2 uses (``XMLSchemaError``, ``validate``,
``_schema_validator_default``) with the libxml2 validator from the start, so the pure-Python
one is never built. ``_create_xml_schema_validator`` still returns pysaml2's own validator,
built on demand from pysaml2's file (tests compare the two validators with it).

pysaml2 is pinned; ``tests/saml_engine/test_schema_module.py`` checks that this module covers
every name pysaml2's module defines and that pysaml2's signature checks reach it.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.resources import files
from types import ModuleType
from typing import Any

from sso_core.saml.saml_schema import LibxmlSamlSchema


class XMLSchemaError(Exception):
    """Generic error raised when the schema does not validate with a document"""


_schema_validator_default: Any = LibxmlSamlSchema()


def validate(doc: str | bytes, validator: Any = None) -> None:
    """pysaml2's ``validate``: any failure of the validator becomes ``XMLSchemaError``.

    Unlike pysaml2's, the error does not carry the document (it could reach a log)."""
    validator = _schema_validator_default if validator is None else validator
    try:
        validator.validate(doc)
    except Exception as exc:
        raise XMLSchemaError({"error": str(exc)}) from exc


@cache
def _pysaml2_original() -> ModuleType:
    """pysaml2's own ``saml2/xml/schema/__init__.py``, loaded under a private name (it builds
    its pure-Python validator as it loads: only tests ask for it)."""
    path = files("saml2.xml").joinpath("schema", "__init__.py")
    spec = importlib.util.spec_from_file_location("saml2.xml._pysaml2_schema", str(path))
    if spec is None or spec.loader is None:
        raise ImportError("pysaml2's saml2/xml/schema/__init__.py was not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _create_xml_schema_validator(source: str | None = None, **kwargs: Any) -> Any:
    """pysaml2's own (``xmlschema``) validator, as ``saml2.xml.schema._create_xml_schema_validator`` makes it."""
    return _pysaml2_original()._create_xml_schema_validator(source, **kwargs)
